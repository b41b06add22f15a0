"""A plain WSGI app that streams server-sent events, served by devserve.

Run it with ``python examples/sse_app.py [PORT]`` (default 8000) and open
http://127.0.0.1:8000/ : the page subscribes to ``/events`` and shows a tick a
second; ``curl -N http://127.0.0.1:8000/events?count=3`` shows the stream itself.
Ctrl+C stops it.  ``devserve --app examples/sse_app.py:app`` serves the same app.

The app returns a generator: devserve sends each item as it is yielded, in a chunk of
its own (HTTP/1.1 clients) or as raw bytes ended by closing (HTTP/1.0), so the
browser sees each event at once.  Nothing here is devserve-specific: any PEP 3333
server that does not buffer responses runs it.
"""

import contextlib
import sys
import time
from urllib.parse import parse_qs

from devserve import make_server

PAGE = b"""<!DOCTYPE html>
<meta charset="utf-8">
<title>Server-sent events</title>
<ul id="ticks"></ul>
<script>
  const source = new EventSource("/events");
  source.addEventListener("tick", (event) => {
    const item = document.createElement("li");
    item.textContent = event.data;
    document.getElementById("ticks").append(item);
  });
</script>
"""


def events(count, interval):
    """Yield *count* ``tick`` events (forever if *count* is 0), one every *interval* s."""
    # A comment line first: proxies and browsers see the stream start at once.
    yield b": stream opened\n\n"
    n = 0
    while count == 0 or n < count:
        n += 1
        yield b"id: %d\nevent: tick\ndata: tick %d at %s\n\n" % (
            n,
            n,
            time.strftime("%H:%M:%S").encode(),
        )
        if count == 0 or n < count:
            time.sleep(interval)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/":
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))],
        )
        return [PAGE]
    if path == "/events":
        query = parse_qs(environ["QUERY_STRING"])
        count = int(query.get("count", ["0"])[0])
        interval = float(query.get("interval", ["1"])[0])
        start_response(
            "200 OK",
            [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")],
        )
        return events(count, interval)
    body = b"Not found\n"
    start_response(
        "404 Not Found",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
    )
    return [body]


def main(port=8000):
    with make_server("127.0.0.1", port, app) as httpd, contextlib.suppress(KeyboardInterrupt):
        print("Serving events on http://127.0.0.1:%d/ ..." % httpd.server_port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
