"""The webhook Telegram posts updates to, and the portal page that links a Telegram account."""

from __future__ import annotations

import hmac

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from regdesk.desks.selectors import desks_for_person
from regdesk.portal.selectors import person_for_user
from regdesk.telegram.models import TelegramBot
from regdesk.telegram.services import telegram_link_code_issue, telegram_webhook_receive

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, bot_id: int) -> HttpResponse:
    bot = TelegramBot.objects.select_related("desk").filter(pk=bot_id, enabled=True).first()
    if bot is None:
        raise Http404("No such bot")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), bot.webhook_secret.encode()):
        return HttpResponse("wrong secret", status=403, content_type="text/plain")
    # Stored before anything else; a failing update is quarantined, never answered with an
    # error (Telegram would send it again and again, holding back the updates after it).
    telegram_webhook_receive(bot=bot, raw=request.body)
    return JsonResponse({})


@login_required
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest) -> HttpResponse:
    """A signed-in customer gets a one-time code and the bot's deep link for it."""
    person = person_for_user(request.user)
    bots = list(
        TelegramBot.objects.filter(enabled=True, desk__in=desks_for_person(person=person))
        .select_related("desk")
        .order_by("desk__name")
        if person is not None
        else []
    )
    issued = None
    chosen = None
    if request.method == "POST" and person is not None:
        chosen = next((b for b in bots if str(b.pk) == request.POST.get("bot")), None)
        if chosen is None:
            raise Http404("No such bot")
        issued = telegram_link_code_issue(person=person, desk=chosen.desk)
    return render(
        request,
        "telegram/link.html",
        {
            "person": person,
            "bots": bots,
            "chosen": chosen,
            "code": issued,
            "deep_link": f"https://t.me/{chosen.username}?start={issued.code}"
            if chosen and issued
            else "",
        },
    )
