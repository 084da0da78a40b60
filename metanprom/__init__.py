"""Metanprom churn warehouse: build orchestration and the Python steps that follow dbt."""

__version__ = "0.1.0"
