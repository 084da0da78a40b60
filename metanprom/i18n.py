"""Words the bank's staff read (exports, dashboard): Russian by default, English one switch away.

One dictionary per kind of text, so a title is translated in one place. Data values (cities,
genders) are never translated here; they stay as the extract writes them.
"""

from __future__ import annotations

#: Column titles of the retention call list (CSV/XLSX exports): column -> (Russian, English).
QUEUE_TITLES: dict[str, tuple[str, str]] = {
    "queue_rank": ("Очередь", "Rank"),
    "user_id": ("ID клиента", "Client id"),
    "city": ("Город", "City"),
    "gender": ("Пол", "Gender"),
    "age": ("Возраст", "Age"),
    "products": ("Продуктов", "Products"),
    "balance": ("Баланс, ₽", "Balance, RUB"),
    "is_balance_missing": ("Баланс неизвестен", "Balance unknown"),
    "churn_probability": ("Вероятность ухода", "Churn probability"),
    "expected_loss": ("Ожидаемая потеря, ₽", "Expected loss, RUB"),
    "top_reasons": ("Признаки оттока", "Churn signs"),
    "segment_ids": ("Сегменты", "Segments"),
    "recommended_action": ("Рекомендуемое действие", "Recommended action"),
    "client_key": ("Ключ клиента", "Client key"),
}


def queue_title(column: str, language: str = "ru") -> str:
    """Return the title of a call-list column in ``language`` ('ru' or 'en')."""
    russian, english = QUEUE_TITLES.get(column, (column, column))
    return english if language == "en" else russian
