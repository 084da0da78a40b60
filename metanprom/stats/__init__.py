"""The statistical step.

Methods (tests, effects, intervals), the step that runs the pre-declared analysis plan on the
marts, and the stability of the selected segments.
"""
