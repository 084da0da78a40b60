"""Words the bank's staff read (exports, dashboard): Russian by default, English one switch away.

One dictionary per kind of text, so a title is translated in one place. Data values (cities,
genders) are never translated here; they stay as the extract writes them.
"""

from __future__ import annotations

import re

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
    "recommended_action": ("Рекомендуемое действие (англ.)", "Recommended action"),
    "recommended_action_ru": ("Рекомендуемое действие", "Recommended action (Russian)"),
    "client_key": ("Ключ клиента", "Client key"),
}


def queue_title(column: str, language: str = "ru") -> str:
    """Return the title of a call-list column in ``language`` ('ru' or 'en')."""
    russian, english = QUEUE_TITLES.get(column, (column, column))
    return english if language == "en" else russian


#: Every string of the dashboard and the report pages: key -> (Russian, English). The page gets
#: this dictionary as data and switches language without reloading (``?lang=en`` or the button).
PAGE_STRINGS: dict[str, tuple[str, str]] = {
    "title": ("Отток клиентов «Метанпром»: кого удержать", "Metanprom churn: whom to retain"),
    "lang_switch": ("English", "Русский"),
    "city": ("Город", "City"),
    "gender": ("Пол", "Gender"),
    "all": ("все", "all"),
    "extract": ("выгрузка", "extract"),
    "rows": ("строк", "rows"),
    "built": ("собрано", "built"),
    "action_title": ("Кому звонить, сколько на кону, что предложить", "Whom to call, what is at stake, what to offer"),
    "kpi_contact": ("активных клиентов в сегментах риска", "active clients in the risk segments"),
    "kpi_contact_balance": ("их остатки (каждый клиент один раз)", "their balances (each client once)"),
    "kpi_queue_loss": ("ожидаемая потеря по очереди обзвона", "expected loss of the call list"),
    "kpi_queue": ("активных клиентов в очереди обзвона", "active clients in the call list"),
    "download_xlsx": ("Скачать очередь обзвона (Excel)", "Download the call list (Excel)"),
    "download_csv": ("Скачать очередь обзвона (CSV)", "Download the call list (CSV)"),
    "segments_title": ("Сегменты риска: по порядку приоритета", "Risk segments, in priority order"),
    "segments_note": (
        "S-номер — порядок отбора; приоритет — по ожидаемой потере остатков. «Охват» — сколько ушедших клиентов "
        "накрывают сегменты с первого по этот, без двойного счёта.",
        "The S-id is the selection order; priority is by expected balance loss. Reach: churned clients covered by "
        "the segments up to this one, each counted once.",
    ),
    "col_segment": ("Сегмент", "Segment"),
    "col_priority": ("Приоритет", "Priority"),
    "col_definition": ("Признаки", "Signs"),
    "col_active": ("Активные", "Active"),
    "col_churned": ("Уже ушли", "Already left"),
    "col_rate": ("Отток (95 % интервал)", "Churn (95 % interval)"),
    "col_reach": ("Охват ушедших, нарастающий", "Churners reached, cumulative"),
    "col_action": ("Что предложить", "What to offer"),
    "col_members": ("Список", "List"),
    "members_csv": ("активные, CSV", "active, CSV"),
    "union_reach": ("Все сегменты вместе накрывают", "All segments together reach"),
    "of_churners": ("ушедших клиентов", "of churned clients"),
    "queue_title": ("Начало очереди обзвона", "Top of the call list"),
    "queue_note": (
        "Активные клиенты по убыванию ожидаемой потери = вероятность ухода × остаток. Вероятность — сходство с "
        "ушедшими в этом месяце (модель проверена на отложенных данных), а не дата ухода.",
        "Active clients by expected loss = churn probability × balance. The probability is the resemblance to the "
        "clients who left this month (validated out-of-fold), not a date of leaving.",
    ),
    "col_rank": ("№", "#"),
    "col_client": ("ID клиента", "Client id"),
    "col_age": ("Возраст", "Age"),
    "col_products": ("Продуктов", "Products"),
    "col_balance": ("Остаток", "Balance"),
    "col_probability": ("Вероятность ухода", "Churn probability"),
    "col_loss": ("Ожидаемая потеря", "Expected loss"),
    "col_reasons": ("Признаки оттока", "Churn signs"),
    "model_quality": ("Качество модели (кросс-валидация)", "Model quality (cross-validated)"),
    "model_auc": ("ROC AUC", "ROC AUC"),
    "model_top10": ("ушедших в первых 10 % списка", "of churners in the top 10 % of the list"),
    "overview_title": ("Отток в цифрах", "Churn in figures"),
    "kpi_clients": ("клиентов", "clients"),
    "kpi_churners": ("ушли", "churned"),
    "kpi_rate": ("доля оттока", "churn rate"),
    "kpi_churned_money": ("остатки ушедших (уже потеряно)", "balances of churned clients (already lost)"),
    "products_title": ("Отток по числу продуктов", "Churn by number of products"),
    "products_label": ("продукт(ов)", "product(s)"),
    "features_title": ("Отток по признакам", "Churn by feature"),
    "legend_prone": (
        "признак оттока по всему банку (проверка с поправкой Холма)",
        "churn sign for the whole bank (tested with Holm's correction)",
    ),
    "legend_other": ("прочие", "other"),
    "legend_small": ("мало данных (n < {n}) — не оценивается", "too few clients (n < {n}) — not judged"),
    "overall": ("в среднем", "overall"),
    "likely": ("вероятно, от {low} до {high}", "likely between {low} and {high}"),
    "signs_title": ("Признаки оттока", "Churn signs"),
    "col_sign": ("Признак", "Sign"),
    "col_clients": ("Клиентов", "Clients"),
    "col_lift": ("Во сколько раз выше среднего", "Times the average"),
    "col_churner_share": ("Доля всех ушедших", "Share of all churners"),
    "overlap_title": ("Пересечение сегментов", "Overlap of segments"),
    "col_pair": ("Сегменты", "Segments"),
    "col_shared": ("Общих клиентов", "Shared clients"),
    "col_jaccard": ("Сходство (Жаккар)", "Similarity (Jaccard)"),
    "tests_title": ("Что говорят статистические тесты", "What the statistical tests say"),
    "tests_note": (
        "Один основной тест на гипотезу, p-значения скорректированы методом Холма. p — вероятность получить такие "
        "или более крайние данные, если различий нет.",
        "One primary test per hypothesis, p-values Holm-adjusted. p is the probability of data at least this "
        "extreme if there were no difference.",
    ),
    "tests_link": ("Все тесты подробно", "All tests in detail"),
    "col_hypothesis": ("Гипотеза (H0)", "Hypothesis (H0)"),
    "col_compared": ("Сравнение", "Compared"),
    "col_effect": ("Размер эффекта (95 % интервал)", "Effect size (95 % interval)"),
    "col_p": ("p (Холм)", "p (Holm)"),
    "col_conclusion": ("Вывод", "Conclusion"),
    "differ": ("различаются", "differ"),
    "no_difference": ("нет свидетельств различия", "no evidence of a difference"),
    "not_testable": ("нельзя проверить", "not testable"),
    "c:differ, meaningful": ("различаются, заметно", "differ, meaningful"),
    "c:differ, negligible": ("различаются, но пренебрежимо мало", "differ, negligible"),
    "c:no evidence of a difference": ("нет свидетельств различия", "no evidence of a difference"),
    "c:tests disagree": ("тесты расходятся", "tests disagree"),
    "c:not testable": ("нельзя проверить", "not testable"),
    "quality_title": ("Качество данных", "Data quality"),
    "col_reason": ("Причина", "Reason"),
    "no_rejected": ("ни одна строка не отклонена", "no row rejected"),
    "warnings": ("Предупреждения", "Warnings"),
    "no_warning": ("нет", "none"),
    "dq_link": ("Отчёт о проверках данных", "Data-quality report"),
    "cleaning_title": ("Решения по очистке", "Cleaning decisions"),
    "col_anomaly": ("Аномалия", "Anomaly"),
    "col_decision": ("Решение", "Decision"),
    "whole_bank": ("по всему банку: фильтр не применяется", "whole bank: the filter does not apply"),
    "filtered": ("с учётом фильтра", "filtered"),
    "sort_hint": ("нажмите на заголовок, чтобы отсортировать", "click a heading to sort"),
    "n": ("n", "n"),
    "back_to_dashboard": ("← к панели", "← to the dashboard"),
    "dq_title": ("Проверки качества данных", "Data quality summary"),
    "dq_passed": ("проверок пройдено", "expectations passed"),
    "dq_errors": ("ошибок (останавливают сборку)", "errors (stop the build)"),
    "dq_warnings": ("предупреждений (дрейф, см. итоги сборки)", "warnings (drift, listed in the build summary)"),
    "dq_gx": (
        "Отчёт great-expectations (Data Docs; стили загружаются из интернета):",
        "great-expectations' own Data Docs (styles load from a CDN):",
    ),
    "dq_sampled": ("проверено на воспроизводимой выборке, строк:", "validated on a reproducible sample, rows:"),
    "dq_status": ("Статус", "Status"),
    "dq_table": ("Таблица", "Table"),
    "dq_expectation": ("Проверка", "Expectation"),
    "dq_column": ("Столбец", "Column"),
    "dq_severity": ("Важность", "Severity"),
    "dq_observed": ("Наблюдение", "Observed"),
    "dq_pass": ("пройдена", "pass"),
    "dq_fail": ("ОШИБКА", "FAIL"),
    "dq_warn": ("предупреждение", "warn"),
}

#: Human labels of the features (признаки) of churn_by_feature and the signs.
FEATURE_LABELS: dict[str, tuple[str, str]] = {
    "city": ("Город", "City"),
    "gender": ("Пол", "Gender"),
    "age": ("Возраст", "Age"),
    "score": ("Кредитный рейтинг", "Credit score"),
    "equity": ("Баллы собственности", "Property points"),
    "balance": ("Остаток на счёте", "Balance"),
    "products": ("Число продуктов", "Number of products"),
    "credit_card": ("Кредитная карта", "Credit card"),
    "last_activity": ("Активность", "Activity"),
    "est_salary": ("Оценка дохода", "Estimated income"),
    "product_segment": ("Продуктовый сегмент", "Product segment"),
}

#: Values of flag buckets and a few fixed bucket words.
VALUE_LABELS: dict[str, tuple[str, str]] = {
    "yes": ("да", "yes"),
    "no": ("нет", "no"),
    "missing": ("нет данных", "missing"),
}

#: Hypothesis ids, test names and effect-size names.
HYPOTHESIS_LABELS: dict[str, tuple[str, str]] = {
    "income_churned_vs_retained": ("Доход: ушедшие и оставшиеся", "Income: churned vs retained"),
    "income_1_vs_2_products": ("Доход: 1 и 2 продукта", "Income: 1 vs 2 products"),
    "score_by_products": ("Кредитный рейтинг по числу продуктов", "Credit score by number of products"),
    "balance_churned_vs_retained": ("Остаток: ушедшие и оставшиеся", "Balance: churned vs retained"),
    "age_churned_vs_retained": ("Возраст: ушедшие и оставшиеся", "Age: churned vs retained"),
    "score_churned_vs_retained": ("Кредитный рейтинг: ушедшие и оставшиеся", "Credit score: churned vs retained"),
    "activity_churn": ("Отток: активные и неактивные", "Churn: active vs inactive"),
    "credit_card_churn": ("Отток: с кредитной картой и без", "Churn: with vs without a credit card"),
}
TEST_LABELS: dict[str, tuple[str, str]] = {
    "mann_whitney_u": ("Манна-Уитни", "Mann-Whitney U"),
    "welch_t": ("t-тест Уэлча", "Welch's t"),
    "kruskal_wallis": ("Краскела-Уоллиса", "Kruskal-Wallis"),
    "two_proportion_z": ("z-тест для долей", "two-proportion z"),
    "chi_square": ("хи-квадрат", "chi-square"),
    "rank_biserial": ("ранговая бисериальная корреляция", "rank-biserial correlation"),
    "hedges_g": ("g Хеджеса", "Hedges' g"),
    "epsilon_squared": ("эпсилон²", "epsilon squared"),
    "risk_difference": ("разница долей", "risk difference"),
    "cramers_v": ("V Крамера", "Cramér's V"),
    "median": ("медиана", "median"),
    "mean": ("среднее", "mean"),
    "churn rate": ("доля оттока", "churn rate"),
}


def sign_in_words(definition: str, language: str = "ru") -> str:
    """Return a churn sign ("last_activity = yes", "products 3–5") in the staff's words ("Активность: да").

    The dashboard's script does the same for the page (signText in templates/dashboard.js).
    """
    index = 0 if language == "ru" else 1
    words = []
    for part in definition.split(" and "):
        feature, separator, value = part.partition(" = ")
        if not separator:
            feature, _, value = part.partition(" ")
        label = FEATURE_LABELS.get(feature, (feature, feature))[index]
        if separator:
            words.append(f"{label}: {VALUE_LABELS.get(value, (value, value))[index]}")
        else:
            words.append(f"{label} {amounts_in_words(value, language)}")
    return (" и " if language == "ru" else " and ").join(words)


#: A money amount in a sign's label: "250k", "1.1M" (macro format_amount in macros/churn_features.sql).
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)([kM])(?![A-Za-z])")
_AMOUNT_UNITS_RU = {"k": "тыс.", "M": "млн"}


def amounts_in_words(text: str, language: str = "ru") -> str:
    """Return ``text`` with its amounts ("≥ 1.1M", "250k–340k") in Russian units ("≥ 1,1 млн"); English as is.

    The dashboard's script does the same for the page (amountText in templates/dashboard.js).
    """
    if language != "ru":
        return text
    return _AMOUNT.sub(lambda match: f"{match[1].replace('.', ',')} {_AMOUNT_UNITS_RU[match[2]]}", text)


def page_dictionary() -> dict[str, dict[str, str]]:
    """All page strings as {'ru': {...}, 'en': {...}} (labels under prefixes feature:, value:, h:, t:)."""
    merged: dict[str, tuple[str, str]] = dict(PAGE_STRINGS)
    for prefix, labels in (
        ("feature:", FEATURE_LABELS),
        ("value:", VALUE_LABELS),
        ("h:", HYPOTHESIS_LABELS),
        ("t:", TEST_LABELS),
    ):
        merged.update({prefix + key: value for key, value in labels.items()})
    return {"ru": {k: v[0] for k, v in merged.items()}, "en": {k: v[1] for k, v in merged.items()}}
