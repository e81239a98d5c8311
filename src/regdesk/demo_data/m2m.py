"""M2M Solutions, a Wialon partner's support desk, in Russian."""

from __future__ import annotations

from regdesk.demo_data.shapes import (
    AgentSpec,
    CustomerSpec,
    DeskSpec,
    OrganisationSpec,
    Story,
    Timeline,
    accept,
    canned_replies,
    confirm,
    customer,
    merge,
    note,
    refuse,
    reply,
    resolve,
    split,
)


def _m2m_stories(t: Timeline) -> list[Story]:
    lead, agent = "andrey.kuznetsov", "maria.sokolova"
    nikolay, anna, igor = "nikolay.fedorov", "anna.egorova", "igor.lebedev"
    hosting = "Wialon Hosting"
    return [
        Story(
            nikolay,
            "technical",
            "Отчёт по топливу показывает двойные заправки",
            "В отчёте «Заправки» по всем КамАЗам каждая заправка отображается дважды.",
            t.ago(minutes=50),
            "email",
            key="fuel",
            fields={
                "product": hosting,
                "specifics": "Шаблон «Топливо», объекты КамАЗ 1-12",
                "steps": "Выполнить отчёт за вчера по группе «КамАЗы».",
            },
        ),
        Story(
            anna,
            "technical",
            "Двойные заправки в отчёте",
            "Заправки в отчёте задвоились.",
            t.ago(minutes=30),
            "email",
            fields={"product": hosting, "specifics": "КамАЗ 7", "steps": "Отчёт за вчера"},
            steps=[merge(t.ago(minutes=20), agent, "fuel")],
        ),
        Story(
            igor,
            "technical",
            "Трекер не выходит на связь",
            "Трекер на тракторе Т-150 не выходит на связь.",
            t.day(1, "10:15"),
            "email",
            strict=False,
            fields={"product": hosting},
        ),
        Story(
            nikolay,
            "technical",
            "Не приходят уведомления о въезде в геозону",
            "С понедельника не приходят SMS о въезде в геозону «Склад Мурманск».",
            t.day(3, "09:20"),
            "email",
            fields={
                "product": hosting,
                "specifics": "Уведомление «Въезд на склад», группа «Рефрижераторы»",
                "steps": "Въезд объекта в геозону, SMS не приходит.",
            },
            steps=[
                accept(t.day(3, "09:40"), agent),
                note(t.day(3, "12:00"), agent, "Баланс SMS-шлюза исчерпан — уточняем у биллинга."),
            ],
        ),
        Story(
            anna,
            "technical",
            "Как настроить датчик температуры?",
            "Подключили датчик температуры к трекеру Galileosky, не видим значения.",
            t.day(2, "14:00"),
            "email",
            fields={
                "product": hosting,
                "specifics": "Объект «Реф 21», датчик на входе AIN1",
                "steps": "Свойства объекта → Датчики: значение пустое.",
            },
            steps=[
                accept(t.day(2, "14:20"), lead),
                reply(
                    t.day(2, "15:05"),
                    lead,
                    "Создайте датчик типа «Температура» с параметром in1 и формулой (x-500)/10 "
                    "из паспорта датчика; значения появятся с новыми сообщениями.",
                ),
            ],
        ),
        Story(
            igor,
            "technical",
            "Пробег в отчёте не совпадает с одометром",
            "Пробег за неделю в отчёте на 15 % меньше одометра.",
            t.day(8, "11:00"),
            "email",
            fields={
                "product": hosting,
                "specifics": "Объект «МТЗ-82 №4», неделя 10-16",
                "steps": "Отчёт «Поездки» за неделю.",
            },
            steps=[
                accept(t.day(8, "11:30"), agent),
                reply(
                    t.day(7, "10:00"),
                    agent,
                    "Включили «Пробег по координатам с фильтрацией»: пропуски сигнала больше "
                    "не обнуляют участки.",
                ),
                customer(t.day(6, "09:30"), igor, "Теперь совпадает, спасибо."),
                confirm(t.day(6, "09:31"), igor),
            ],
        ),
        Story(
            anna,
            "technical",
            "Купите нам планшеты",
            "Подберите и закупите нам 10 планшетов для водителей.",
            t.day(4, "13:00"),
            "email",
            fields={"product": "другое", "specifics": "—", "steps": "—"},
            steps=[
                refuse(
                    t.day(4, "13:30"),
                    lead,
                    "other",
                    "Закупка оборудования не относится к технической поддержке; ваш "
                    "менеджер пришлёт коммерческое предложение.",
                ),
            ],
        ),
        Story(
            nikolay,
            "technical",
            "Две проблемы: водители и маршруты",
            "1) Не назначаются водители по iButton. 2) Маршруты не закрываются автоматически.",
            t.day(5, "10:00"),
            "email",
            fields={
                "product": hosting,
                "specifics": "Группа «Рефрижераторы»",
                "steps": "Приложить ключ; пройти маршрут.",
            },
            steps=[
                split(
                    t.day(5, "10:20"),
                    lead,
                    [
                        (
                            "Не назначаются водители по iButton",
                            "Водители не назначаются при прикладывании ключа iButton.",
                        ),
                        (
                            "Маршруты не закрываются автоматически",
                            "Маршруты не закрываются после прохождения последней точки.",
                        ),
                    ],
                    then=[[accept(t.day(5, "10:30"), agent)], []],
                ),
                resolve(t.day(5, "10:25"), lead),
            ],
        ),
    ]


M2M = DeskSpec(
    slug="m2m",
    name="М2М Солюшнс — техподдержка",
    prefix="M2M",
    preset="m2m",
    email_address="support@m2m.example",
    agents=(
        AgentSpec("andrey.kuznetsov", "Андрей", "Кузнецов", "ru", is_lead=True),
        AgentSpec("maria.sokolova", "Мария", "Соколова", "ru"),
    ),
    organisations=(
        OrganisationSpec(
            "ТК «Северный путь»",
            (
                CustomerSpec(
                    "nikolay.fedorov",
                    "Николай Федоров",
                    "n.fedorov@sevput.ru",
                    "ru",
                    is_manager=True,
                ),
                CustomerSpec("anna.egorova", "Анна Егорова", "a.egorova@sevput.ru", "ru"),
            ),
        ),
        OrganisationSpec(
            "ООО «АгроТрек»",
            (CustomerSpec("igor.lebedev", "Игорь Лебедев", "lebedev@agrotrek.ru", "ru"),),
        ),
    ),
    canned=canned_replies("Техподдержка М2М Солюшнс"),
    stories=_m2m_stories,
)
