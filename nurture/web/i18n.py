"""The web app's words in English and Russian.

Templates call ``t("key")`` for a phrase and ``n(3, "task")`` for a number with its word
(:func:`nurture.text.count`, with the Russian plural forms). A user's language is their
account's, else what their browser asks for (``Accept-Language``), else English. A key
missing from :data:`MESSAGES` fails loudly in tests (``tests/web/test_i18n.py`` renders
every page in both languages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nurture.text import count

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "Words",
    "amount",
    "number",
    "percent",
    "pick_language",
    "words",
]

LANGUAGES = ("en", "ru")

#: key -> (English, Russian)
MESSAGES: dict[str, tuple[str, str]] = {
    # frame
    "app": ("Nurture", "Nurture"),
    "my_day": ("My day", "Мой день"),
    "calendar": ("Calendar", "Календарь"),
    "team": ("Team", "Команда"),
    "campaigns": ("Campaigns", "Кампании"),
    "imports": ("Imports", "Импорт"),
    "duplicates": ("Duplicates", "Дубликаты"),
    "analytics": ("Analytics", "Аналитика"),
    "api_docs": ("API", "API"),
    "sign_out": ("Sign out", "Выйти"),
    "language": ("Language", "Язык"),
    "skip_to_content": ("Skip to content", "К содержанию"),
    # sign-in
    "sign_in": ("Sign in", "Вход"),
    "email": ("E-mail", "E-mail"),
    "password": ("Password", "Пароль"),
    "bad_credentials": ("Wrong e-mail or password.", "Неверный e-mail или пароль."),
    "locked_out": (
        "Too many failed attempts. Try again in {minutes} min.",
        "Слишком много неудачных попыток. Повторите через {minutes} мин.",
    ),
    "signed_out": ("You are signed out.", "Вы вышли."),
    "session_ended": ("Your session has ended: sign in again.", "Сеанс истёк: войдите снова."),
    # errors
    "not_found": ("Not found", "Не найдено"),
    "not_found_text": (
        "There is nothing here, or it is not yours to see.",
        "Здесь ничего нет, или это не для вас.",
    ),
    "forbidden": ("Not for your role", "Недоступно для вашей роли"),
    "forbidden_text": (
        "This page is for another role. Ask an administrator if you need it.",
        "Эта страница для другой роли. Обратитесь к администратору, если она вам нужна.",
    ),
    "csrf_failed": (
        "The form has expired. Go back, reload the page and try again.",
        "Форма устарела. Вернитесь, обновите страницу и попробуйте снова.",
    ),
    "server_error": ("Something went wrong", "Что-то пошло не так"),
    "server_error_text": (
        "The error was logged (reference {ref}). Try again in a minute.",
        "Ошибка записана в журнал (номер {ref}). Попробуйте через минуту.",
    ),
    "back_home": ("Back to the start page", "На главную"),
    # campaigns
    "campaign": ("Campaign", "Кампания"),
    "status": ("Status", "Статус"),
    "steps": ("Steps", "Шаги"),
    "enrolled": ("Enrolled", "Включено"),
    "sent": ("Sent", "Отправлено"),
    "failed": ("Failed", "Ошибки"),
    "unsubscribed": ("Unsubscribed", "Отписались"),
    "stopped": ("Stopped", "Остановлено"),
    "running": ("running", "идёт"),
    "paused": ("paused", "на паузе"),
    "draft": ("not launched", "не запущена"),
    "launch": ("Launch", "Запустить"),
    "pause": ("Pause", "Пауза"),
    "resume": ("Resume", "Продолжить"),
    "no_campaigns": (
        "No campaigns yet: load some with `nurture campaign load examples/campaigns/*.yaml`.",
        "Кампаний пока нет: загрузите их командой `nurture campaign load "
        "examples/campaigns/*.yaml`.",
    ),
    "preview": ("Preview", "Просмотр"),
    "preview_for": ("Preview for lead", "Просмотр для лида"),
    "step": ("Step", "Шаг"),
    "day": ("Day", "День"),
    "channel": ("Channel", "Канал"),
    "subject": ("Subject", "Тема"),
    "no_sample_lead": (
        "No lead to preview with yet: import a list first.",
        "Нет лида для просмотра: сначала импортируйте список.",
    ),
    "preview_failed": ("This template cannot be rendered:", "Шаблон не отрисовывается:"),
    "campaign_launched": ("The campaign is running.", "Кампания запущена."),
    "campaign_paused": (
        "The campaign is paused: no new touches are planned until you resume it.",
        "Кампания на паузе: новые касания не планируются, пока вы её не продолжите.",
    ),
    # imports
    "upload_list": ("Import a lead list", "Импорт списка лидов"),
    "file": ("File (CSV, XLSX or JSON Lines)", "Файл (CSV, XLSX или JSON Lines)"),
    "event_name": ("Event", "Мероприятие"),
    "event_kind": ("Kind", "Тип"),
    "event_date": ("Date", "Дата"),
    "import": ("Import", "Импортировать"),
    "recent_imports": ("Recent imports", "Последние импорты"),
    "rows": ("Rows", "Строк"),
    "created": ("New leads", "Новых лидов"),
    "merged": ("Merged", "Объединено"),
    "quarantined": ("Quarantined", "В карантине"),
    "possible_duplicates": ("Possible duplicates", "Возможные дубликаты"),
    "download_quarantine": ("Download the quarantine (CSV)", "Скачать карантин (CSV)"),
    "already_imported": (
        "This file was imported for this event before: nothing new.",
        "Этот файл уже импортирован для этого мероприятия: ничего нового.",
    ),
    "no_imports": ("No imports yet.", "Импортов пока нет."),
    "kind_exhibition": ("exhibition", "выставка"),
    "kind_seminar": ("seminar", "семинар"),
    "kind_webinar": ("webinar", "вебинар"),
    "kind_mailing": ("mailing", "рассылка"),
    "kind_webform": ("web form", "веб-форма"),
    "routed": ("routed to managers", "распределено менеджерам"),
    "import_of": ("Import of", "Импорт файла"),
    "reasons": ("Reasons", "Причины"),
    "row": ("Row", "Строка"),
    # duplicates
    "review_duplicates": ("Possible duplicates to review", "Возможные дубликаты на проверку"),
    "similarity": ("Similarity", "Сходство"),
    "merge_into": ("Merge into the first", "Объединить с первым"),
    "dismiss": ("Different people", "Разные люди"),
    "no_duplicates": ("Nothing to review.", "Проверять нечего."),
    "merged_done": ("Merged (undo with `nurture leads unmerge`).", "Объединено."),
    "dismissed_done": ("Marked as different people.", "Отмечено: разные люди."),
    # tasks, my day, calendar
    "overdue": ("Overdue", "Просрочено"),
    "today": ("Today", "Сегодня"),
    "upcoming": ("Upcoming", "Предстоит"),
    "nothing_due": ("Nothing here.", "Здесь пусто."),
    "hard_deadline": ("hard deadline", "жёсткий срок"),
    "due": ("Due", "Срок"),
    "lead": ("Lead", "Лид"),
    "open_lead": ("Open the lead", "Открыть лида"),
    "complete": ("Done", "Выполнено"),
    "outcome": ("Outcome", "Результат"),
    "note": ("Note", "Заметка"),
    "reschedule": ("Reschedule", "Перенести"),
    "reason": ("Reason", "Причина"),
    "save": ("Save", "Сохранить"),
    "week": ("Week", "Неделя"),
    "month": ("Month", "Месяц"),
    "previous": ("Previous", "Назад"),
    "next": ("Next", "Вперёд"),
    "view": ("View", "Вид"),
    "done_badge": ("done", "выполнено"),
    "instructions": ("Instructions", "Инструкция"),
    "yes": ("yes", "да"),
    "no": ("no", "нет"),
    "new_time": ("New time", "Новое время"),
    "reassign": ("Reassign", "Передать"),
    "to_person": ("To", "Кому"),
    "status_open": ("open", "в работе"),
    "status_converted": ("converted", "клиент"),
    "status_lost": ("lost", "потерян"),
    "status_closed": ("closed", "закрыт"),
    "contact": ("Contact", "Контакты"),
    "owner": ("Owner", "Ответственный"),
    "do_not_contact": ("Do not contact", "Не беспокоить"),
    "next_step": ("Next step", "Следующий шаг"),
    "no_next_step": (
        "No next step: plan one, or this lead will be forgotten.",
        "Нет следующего шага: запланируйте его, иначе лид будет забыт.",
    ),
    "log_reply": ("Log a reply", "Записать ответ"),
    "convert": ("Converted", "Стал клиентом"),
    "lose": ("Lost", "Потерян"),
    "amount": ("Amount", "Сумма"),
    "currency": ("Currency", "Валюта"),
    "deal": ("Deal", "Сделка"),
    "stage": ("stage", "этап"),
    "documents": ("Documents", "Документы"),
    "open_tasks": ("Open tasks", "Открытые задачи"),
    "timeline": ("Timeline", "История"),
    "add_note": ("Add a note", "Добавить заметку"),
    "save_note": ("Save the note", "Сохранить заметку"),
    "sources": ("Where the lead came from", "Откуда лид"),
    "assignments": ("Assignments", "Назначения"),
    "open": ("Open", "Открыто"),
    "escalated": ("Escalated", "Эскалировано"),
    "load": ("New leads this week / capacity", "Новые лиды за неделю / норма"),
    "per_week": ("a week", "в неделю"),
    "inactive": ("left", "ушёл"),
    "stalled_deals": ("Stalled deals", "Зависшие сделки"),
    "days_idle": ("days without progress", "дн. без движения"),
    "person": ("Person", "Сотрудник"),
    "everyone": ("Everyone", "Все"),
    "show": ("Show", "Показать"),
    "dow_0": ("Mon", "Пн"),
    "dow_1": ("Tue", "Вт"),
    "dow_2": ("Wed", "Ср"),
    "dow_3": ("Thu", "Чт"),
    "dow_4": ("Fri", "Пт"),
    "dow_5": ("Sat", "Сб"),
    "dow_6": ("Sun", "Вс"),
    "feed_hint": (
        "Subscribe to your calendar in Google Calendar or Outlook with this private address "
        "(keep it secret; an administrator can replace it):",
        "Подпишитесь на календарь в Google Календаре или Outlook по этому личному адресу "
        "(не передавайте его; администратор может его заменить):",
    ),
    "no_person": (
        "Your account is not tied to a person of the team file.",
        "Ваша учётная запись не связана с сотрудником из файла команды.",
    ),
    "admin_home": ("Administration", "Администрирование"),
    "admin_home_text": (
        "You see every team. Pick a page above.",
        "Вам видны все команды. Выберите раздел выше.",
    ),
    # analytics
    "an_since": ("From", "С"),
    "an_until": ("Until (not included)", "По (не включая)"),
    "an_period_hint": (
        "Days start at midnight UTC, as in the nurture report command; no first day: 90 days "
        "before the end; no end: now.",
        "Дни начинаются в полночь UTC, как в отчёте nurture report; без первого дня — 90 дней "
        "до конца; без конца — сейчас.",
    ),
    "an_bad_period": (
        "This period cannot be shown: write the days as YYYY-MM-DD, the first before the end.",
        "Такой период не показать: укажите дни как ГГГГ-ММ-ДД, первый раньше конца.",
    ),
    "an_period": ("Period", "Период"),
    "an_people_hint": (
        "rows about people: your team's",
        "строки о сотрудниках: только вашей команды",
    ),
    "an_leads_met": ("leads met", "лидов получено"),
    "an_within_30d": ("Worked within 30 days", "Отработано за 30 дней"),
    "an_never": ("Never touched", "Без касаний"),
    "an_conversion": ("Conversion", "Конверсия"),
    "an_revenue": ("Revenue", "Выручка"),
    "an_none": ("No leads were met in this period.", "В этом периоде лидов не было."),
    "an_funnel": ("Funnel by stage", "Воронка по этапам"),
    "an_stage": ("Stage", "Этап"),
    "an_leads": ("Leads", "Лидов"),
    "an_from_previous": ("From the stage before", "От предыдущего этапа"),
    "an_dropped": ("Dropped off", "Отсеялось"),
    "an_by_event": ("By event", "По мероприятиям"),
    "an_by_campaign": ("By campaign", "По кампаниям"),
    "an_deal_funnel": ("Deals by stage", "Сделки по этапам"),
    "an_deals": ("Deals", "Сделок"),
    "an_won": ("Won", "Продаж"),
    "an_time": ("Time in stage", "Время на этапе"),
    "an_entered": ("Entered", "Вошли"),
    "an_still_in": ("Still there", "Ещё на этапе"),
    "an_median_h": ("Median, business h", "Медиана, раб. ч"),
    "an_p90_h": ("90th percentile, business h", "90-й процентиль, раб. ч"),
    "an_actions": ("Tasks by kind", "Задачи по видам"),
    "an_action": ("Kind", "Вид"),
    "an_tasks": ("Tasks", "Задач"),
    "an_overdue_rate": ("Overdue", "Просрочено"),
    "an_escalated": ("Escalated", "Эскалаций"),
    "an_manager": ("Manager", "Менеджер"),
    "an_speed": ("Speed to lead and 30-day coverage", "Скорость реакции и охват за 30 дней"),
    "an_industry": (
        "Industry surveys find only {low}–{high} of event leads worked within 30 days: events "
        "below that are marked red.",
        "По отраслевым данным за 30 дней отрабатывают лишь {low}–{high} лидов с мероприятий: "
        "мероприятия ниже отмечены красным.",
    ),
    "an_within_24bh": ("Within 24 business h", "За 24 рабочих часа"),
    "an_vs_industry": ("Against the industry", "К отрасли"),
    "an_below": ("below", "ниже"),
    "an_within": ("within", "в пределах"),
    "an_above": ("above", "выше"),
    "an_sequences_note": (
        "Steps of a lead's first {days} days after which leads buy more often than the base "
        "rate ({base}). Lift: conversion over the base; the interval is 95% (Wilson).",
        "Шаги первых {days} дней лида, после которых покупают чаще базового уровня ({base}). "
        "Лифт: конверсия к базовой; интервал 95% (Уилсон).",
    ),
    "an_steps": ("Steps", "Шаги"),
    "an_support": ("Share of leads", "Доля лидов"),
    "an_lift": ("Lift", "Лифт"),
    "an_ci": ("95% interval", "Интервал 95%"),
    "an_no_patterns": (
        "No sequence is common enough in this period.",
        "В этом периоде нет достаточно частых последовательностей.",
    ),
    "an_revenue_h": ("Revenue per event and campaign", "Выручка по мероприятиям и кампаниям"),
    "an_per_lead": ("Per lead", "На лида"),
    "an_win_rate": ("Win rate", "Доля продаж"),
    # api
    "api_title": ("Nurture API", "Nurture API"),
}

_INDEX = {"en": 0, "ru": 1}


@dataclass(frozen=True)
class Words:
    """The translation functions a page gets: ``t`` for phrases, ``n`` for counts."""

    lang: str
    t: Callable[..., str]
    n: Callable[[int, str], str]


def _t(lang: str) -> Callable[..., str]:
    i = _INDEX[lang]

    def t(key: str, **values: object) -> str:
        text = MESSAGES[key][i]  # KeyError: a missing key is a bug
        return text.format(**values) if values else text

    return t


_RU_WORDS = {
    "task": "задача",
    "lead": "лид",
    "row": "строка",
    "day": "день",
    "hour": "час",
    "e-mail": "письмо",
    "deal": "сделка",
    "possible duplicate": "возможный дубликат",
}


def _n(lang: str) -> Callable[[int, str], str]:
    def n(value: int, word: str) -> str:
        return count(value, _RU_WORDS.get(word, word) if lang == "ru" else word, lang=lang)

    return n


_WORDS = {lang: Words(lang, _t(lang), _n(lang)) for lang in LANGUAGES}


def words(lang: str) -> Words:
    return _WORDS[lang if lang in _WORDS else "en"]


def pick_language(chosen: str | None, accept_language: str | None) -> str:
    """The account's language when set, else the browser's first of ours, else English."""
    if chosen in LANGUAGES:
        return str(chosen)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def number(value: float | int | None, lang: str, digits: int = 0) -> str:
    """``12,345`` / ``12 345``; ``1.5`` / ``1,5``; a dash for no value."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if lang == "ru":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text


def percent(value: float | None, lang: str, digits: int = 0) -> str:
    """A share (0.123) as ``12%`` (``digits`` after the point)."""
    if value is None:
        return "—"
    return number(value * 100, lang, digits) + "%"


def amount(value: float | None, lang: str) -> str:
    """A sum of money: kopecks only when there are any (``150 000``, ``99,50``)."""
    if value is None:
        return "—"
    return number(value, lang, 0 if float(value).is_integer() else 2)
