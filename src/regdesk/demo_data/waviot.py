"""WAVIoT's support desk: meters, base stations and access requests, in Russian."""

from __future__ import annotations

from regdesk.demo_data.shapes import (
    AgentSpec,
    CustomerSpec,
    DeskSpec,
    DeviceSpec,
    OrganisationSpec,
    Story,
    Timeline,
    accept,
    agree,
    canned_replies,
    confirm,
    customer,
    merge,
    note,
    priority,
    refuse,
    reply,
    resolve,
    split,
)

_WAV_VECTOR = {"client_name": "МУП «Водоканал Берёзовский»", "login": "vodokanal-bz"}
_WAV_ENERGO = {"client_name": "ООО «ЭнергоУчёт»", "login": "energouchet"}


def _waviot_stories(t: Timeline) -> list[Story]:
    lead, agent = "irina.volkova", "dmitry.orlov"
    sergey, olga, pavel = "sergey.ivanov", "olga.petrova", "pavel.smirnov"
    return [
        Story(
            sergey,
            "base-station",
            "Базовая станция БС-1187 не выходит на связь",
            "С 06:00 базовая станция БС-1187 (насосная станция №3) не выходит на связь, "
            "показания со 140 счётчиков не поступают. Питание на станции есть.",
            t.ago(hours=1, minutes=20),
            "telegram",
            key="bs1187",
            fields={**_WAV_VECTOR, "station_number": "БС-1187"},
            steps=[
                priority(
                    t.ago(hours=1, minutes=10),
                    lead,
                    "critical",
                    "Станция обслуживает 140 абонентов, данные не поступают — "
                    "полная невозможность работы с участком.",
                ),
                accept(t.ago(hours=1, minutes=5), lead),
                note(
                    t.ago(minutes=50),
                    lead,
                    "По мониторингу — потеря backhaul, LTE-модем станции не регистрируется. "
                    "Связались с оператором.",
                ),
            ],
        ),
        Story(
            olga,
            "base-station",
            "БС-1187 опять офлайн",
            "Коллеги, станция 1187 снова не отвечает, посмотрите, пожалуйста.",
            t.ago(minutes=45),
            "email",
            fields={**_WAV_VECTOR, "station_number": "1187"},
            steps=[merge(t.ago(minutes=30), agent, "bs1187")],
        ),
        Story(
            pavel,
            "device",
            "Счётчик не передаёт показания с 12 числа",
            "Добрый день. Счётчик в доме 14 по ул. Лесной не передаёт показания с 12 числа.",
            t.day(1, "14:05"),
            "email",
            strict=False,
            fields={**_WAV_ENERGO, "device_id": "0A1B2C3D"},
        ),
        Story(
            sergey,
            "other",
            "API возвращает 401 при запросе показаний",
            "Интеграция с биллингом с утра получает 401 Unauthorized на /api/v2/readings. Токен "
            "не меняли.",
            t.day(4, "10:20"),
            "helpdesk_service",
            fields=dict(_WAV_VECTOR),
        ),
        Story(
            pavel,
            "reports",
            "Выгрузка отчёта за октябрь пустая",
            "Отчёт «Потребление по абонентам» за октябрь выгружается пустым, за сентябрь — "
            "нормально.",
            t.day(2, "11:40"),
            "email",
            fields=dict(_WAV_ENERGO),
            steps=[
                priority(
                    t.day(2, "11:50"),
                    agent,
                    "high",
                    "Выгрузка отчётности с отсутствием данных — высокий приоритет по регламенту.",
                ),
                accept(t.day(2, "11:55"), agent),
                reply(
                    t.day(2, "14:30"),
                    agent,
                    "Выгрузка за октябрь пересчитана после переноса батча; отчёт снова "
                    "содержит данные. Проверьте, пожалуйста.",
                ),
            ],
        ),
        Story(
            sergey,
            "access",
            "Доступ к дереву объектов для нового инженера",
            "Прошу предоставить доступ к участку «Насосные станции» новому инженеру.",
            t.day(6, "09:30"),
            "email",
            fields={
                **_WAV_VECTOR,
                "tree_link": "https://lk.waviot.ru/tree/4512/pumping-stations",
                "responsible_name": "Кравцов Артём Игоревич",
                "responsible_email": "a.kravtsov@vodokanal-bz.ru",
                "responsible_phone": "+7 912 555-43-21",
            },
            steps=[
                accept(t.day(6, "09:45"), lead),
                reply(
                    t.day(6, "10:30"),
                    lead,
                    "Доступ предоставлен, приглашение отправлено на a.kravtsov@vodokanal-bz.ru.",
                ),
                customer(t.day(6, "12:00"), sergey, "Получили, спасибо!"),
                confirm(t.day(6, "12:01"), sergey),
            ],
        ),
        Story(
            pavel,
            "reports",
            "Некорректные показания в личном кабинете",
            "У абонента 1024 в личном кабинете показания 99999 кВт·ч за один день.",
            t.day(9, "15:00"),
            "telegram",
            fields=dict(_WAV_ENERGO),
            steps=[
                priority(
                    t.day(9, "15:10"), agent, "high", "Некорректные показания в личном кабинете."
                ),
                accept(t.day(9, "15:15"), agent),
                reply(
                    t.day(8, "11:00"),
                    agent,
                    "Счётчик после замены батареи передал служебное значение; значение "
                    "исключено из расчёта, показания исправлены.",
                ),
                resolve(t.day(7, "10:00"), agent),
            ],
        ),
        Story(
            olga,
            "other",
            "Подключите интернет в офисе",
            "У нас в бухгалтерии не работает интернет, подключите, пожалуйста.",
            t.day(3, "16:30"),
            "email",
            fields=dict(_WAV_VECTOR),
            steps=[
                refuse(
                    t.day(3, "16:50"),
                    lead,
                    "other",
                    "Подключение офисного интернета не относится к сервисам «ВАВИОТ»; "
                    "обратитесь к вашему интернет-провайдеру.",
                ),
            ],
        ),
        Story(
            sergey,
            "other",
            "Нестандартная прошивка и новая форма отчёта",
            "1) Нужна прошивка для СЭ-3Ф с передачей показаний раз в час. 2) Нужна форма отчёта "
            "«Баланс по фидерам».",
            t.day(5, "10:00"),
            "email",
            fields=dict(_WAV_VECTOR),
            steps=[
                split(
                    t.day(5, "10:30"),
                    lead,
                    [
                        (
                            "Нестандартная прошивка СЭ-3Ф: передача раз в час",
                            "Нужна прошивка для СЭ-3Ф с передачей показаний раз в час.",
                        ),
                        (
                            "Новая форма отчёта «Баланс по фидерам»",
                            "Нужна форма отчёта «Баланс по фидерам».",
                        ),
                    ],
                    then=[
                        [
                            priority(t.day(5, "10:40"), lead, "low", "Нестандартная прошивка."),
                            agree(t.day(5, "10:45"), lead, "first_response", 72),
                            accept(t.day(5, "10:50"), lead),
                        ],
                        [priority(t.day(5, "10:41"), lead, "low", "Нестандартная форма отчёта.")],
                    ],
                ),
                resolve(t.day(5, "10:35"), lead),
            ],
        ),
    ]


WAVIOT = DeskSpec(
    slug="waviot",
    name="WAVIoT — техподдержка",
    prefix="WAV",
    preset="waviot",
    email_address="support@waviot.example",
    agents=(
        AgentSpec("irina.volkova", "Ирина", "Волкова", "ru", is_lead=True),
        AgentSpec("dmitry.orlov", "Дмитрий", "Орлов", "ru"),
    ),
    organisations=(
        OrganisationSpec(
            "МУП «Водоканал Берёзовский»",
            (
                CustomerSpec(
                    "sergey.ivanov",
                    "Сергей Иванов",
                    "s.ivanov@vodokanal-bz.ru",
                    "ru",
                    is_manager=True,
                    login="vodokanal-bz",
                    phone="+7 912 555-10-01",
                ),
                CustomerSpec(
                    "olga.petrova",
                    "Ольга Петрова",
                    "o.petrova@vodokanal-bz.ru",
                    "ru",
                    login="vodokanal-bz",
                ),
            ),
            devices=(
                DeviceSpec("BS-1187", "WV-BS-18-1187", "WAVIoT BS-8", "БС-1187, насосная №3"),
                DeviceSpec("7F00A113", "WV-21-007311", "СЭ-1Ф", "Счётчик, ул. Садовая 3"),
            ),
        ),
        OrganisationSpec(
            "ООО «ЭнергоУчёт»",
            (
                CustomerSpec(
                    "pavel.smirnov",
                    "Павел Смирнов",
                    "p.smirnov@energouchet.ru",
                    "ru",
                    login="energouchet",
                ),
            ),
            devices=(
                DeviceSpec("0A1B2C3D", "WV-21-004512", "СЭ-1Ф", "Счётчик, ул. Лесная 14"),
                DeviceSpec("0A1B2C40", "WV-22-000118", "СЭ-3Ф", "Счётчик, ТП-12"),
            ),
        ),
    ),
    canned=canned_replies("Техподдержка «ВАВИОТ»"),
    stories=_waviot_stories,
)
