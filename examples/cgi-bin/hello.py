#!/usr/bin/env python3
"""A CGI form in Python: GET shows it, POST redirects back with the name (303).

Serve it with ``devserve --cgi -d examples`` (or ``python -m devserve``) and open
http://127.0.0.1:8000/cgi-bin/hello.py .  Post/redirect/get needs the script's
``Status:`` header, which devserve honours and http.server does not.
"""

import html
import os
import sys
import urllib.parse


def respond(status, headers, body=b""):
    out = sys.stdout.buffer
    out.write(b"Status: %s\r\n" % status.encode("ascii"))
    for name, value in headers:
        out.write(b"%s: %s\r\n" % (name.encode("ascii"), value.encode("latin-1")))
    out.write(b"\r\n" + body)


def main():
    if os.environ["REQUEST_METHOD"] == "POST":
        length = int(os.environ.get("CONTENT_LENGTH") or 0)
        form = urllib.parse.parse_qs(sys.stdin.buffer.read(length).decode("utf-8"))
        name = form.get("name", ["stranger"])[0]
        query = urllib.parse.urlencode({"name": name})
        respond("303 See Other", [("Location", os.environ["SCRIPT_NAME"] + "?" + query)])
        return
    query = urllib.parse.parse_qs(os.environ.get("QUERY_STRING", ""))
    name = query.get("name", ["world"])[0]
    page = (
        "<!DOCTYPE html>\n<title>Hello</title>\n<h1>Hello, %s!</h1>\n"
        '<form method="post"><input name="name"> <button>Greet</button></form>\n'
    ) % html.escape(name)
    body = page.encode("utf-8")
    respond(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        body,
    )


main()
