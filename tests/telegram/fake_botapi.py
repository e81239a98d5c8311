"""A local HTTP server that speaks the Telegram Bot API's wire format, for the real library.

``POST /bot<token>/<method>`` with form, multipart or JSON bodies, answered with
``{"ok": true, "result": …}`` objects shaped like Telegram's, or ``{"ok": false, "error_code",
"description"}``; ``GET /file/bot<token>/<path>`` serves the bytes of files it knows. Every
request is recorded, so a test asserts on what the bot said.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

BOT_USER = {
    "id": 7000001234,
    "is_bot": True,
    "first_name": "WAVIoT Help",
    "username": "WAVIoTHelp_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    result: Any = None


@dataclass
class StoredFile:
    file_id: str
    path: str
    data: bytes


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, StoredFile] = {}
        self.downloads: list[str] = []
        self._message_ids = itertools.count(500)
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                api._post(self)

            def do_GET(self) -> None:
                api._get(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ test helpers

    def add_file(self, file_id: str, data: bytes, path: str) -> None:
        self.files[file_id] = StoredFile(file_id, path, data)

    def queue(self, *updates: dict[str, Any]) -> None:
        with self._lock:
            self.updates.extend(updates)

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.called("sendMessage")
            if chat_id is None or int(c.params["chat_id"]) == chat_id
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.params["text"] for c in self.sent(chat_id)]

    def forget(self) -> None:
        self.calls.clear()

    # ------------------------------------------------------------------ the wire

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def _params(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
        if not body:
            return {}, {}
        if content_type.startswith("application/json"):
            return json.loads(body), {}
        if content_type.startswith("multipart/form-data"):
            parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            params: dict[str, Any] = {}
            files: dict[str, bytes] = {}
            for part in parsed.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    files[str(name)] = payload
                else:
                    params[str(name)] = _value(payload.decode())
            return params, files
        return {k: _value(v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}, {}

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        prefix = f"/bot{self.token}/"
        path = unquote(handler.path)
        if not path.startswith("/bot"):
            self._reply(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        if not path.startswith(prefix):
            self._reply(
                handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
            return
        method = path[len(prefix) :]
        params, files = self._params(handler.headers.get("Content-Type", ""), body)
        call = Call(method, params, files)
        with self._lock:
            self.calls.append(call)
        answer = getattr(self, f"_m_{method}", None)
        if answer is None:
            self._reply(
                handler,
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: method not found"},
            )
            return
        status, result = answer(params, files)
        if status != 200:
            self._reply(handler, status, {"ok": False, "error_code": status, "description": result})
            return
        call.result = result
        self._reply(handler, 200, {"ok": True, "result": result})

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        prefix = f"/file/bot{self.token}/"
        path = unquote(handler.path)  # httpx sends the token's colon as %3A
        stored = next((f for f in self.files.values() if path == prefix + f.path), None)
        if stored is None:
            self._reply(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        self.downloads.append(stored.path)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(stored.data)))
        handler.end_headers()
        handler.wfile.write(stored.data)

    # ------------------------------------------------------------------ methods

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "from": {
                k: v for k, v in BOT_USER.items() if k in ("id", "is_bot", "first_name", "username")
            },
            "chat": {"id": chat_id, "first_name": "Ivan", "username": "ipetrov", "type": "private"},
            "date": int(time.time()),
            **content,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _m_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        return 200, BOT_USER

    def _m_getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        offset = int(params.get("offset") or 0)
        with self._lock:
            if offset:  # an offset confirms every update before it: Telegram forgets them
                self.updates = [u for u in self.updates if u.get("update_id", 0) >= offset]
            return 200, self.updates[: int(params.get("limit") or 100)]

    def _m_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        text = str(params.get("text") or "")
        if not text:
            return 400, "Bad Request: message text is empty"
        if len(text) > 4096:
            return 400, "Bad Request: message is too long"
        return 200, self._message(params, text=text)

    def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        sizes = [
            {"file_id": f"AgACAgIAAxkDAAI{n}", "file_unique_id": f"AQAD{n}", "width": w,
             "height": h, "file_size": s}
            for n, (w, h, s) in enumerate([(90, 51, 1200), (320, 180, 9800), (1280, 720, 64000)])
        ]  # fmt: skip
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return 200, self._message(params, photo=sizes, **extra)

    def _m_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        data = files.get("document", b"")
        document = {
            "file_name": "document",
            "mime_type": "application/octet-stream",
            "file_id": "BQACAgIAAxkDAAIB",
            "file_unique_id": "AgADBQ",
            "file_size": len(data),
        }
        return 200, self._message(params, document=document)

    def _m_getFile(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            return 400, "Bad Request: invalid file_id"
        return 200, {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_id[-8:],
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    def _m_setWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        if not str(params.get("url", "")).startswith("https://"):
            return 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        return 200, True

    def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        return 200, True

    def _m_answerCallbackQuery(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> tuple[int, Any]:
        return 200, True

    def _m_editMessageReplyMarkup(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> tuple[int, Any]:
        return 200, self._message(params, text="…", edit_date=int(time.time()))


def _value(text: str) -> Any:
    """Form values as Telegram reads them: objects and arrays arrive JSON-encoded."""
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
