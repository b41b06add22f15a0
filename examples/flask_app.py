"""A small Flask app served by devserve's WSGI bridge: forms, JSON, redirects, cookies, 404.

Run it with ``python examples/flask_app.py [PORT]`` (default 8000) and open
http://127.0.0.1:8000/ ; Ctrl+C stops it.  The same ``app`` runs unchanged under any
WSGI server, for example ``gunicorn --chdir examples flask_app:app``, or
``devserve --app examples/flask_app.py:app``.
"""

import contextlib
import sys

from flask import Flask, jsonify, make_response, redirect, request, url_for

from devserve import make_server

app = Flask(__name__)
notes = []


@app.get("/")
def index():
    return "<h1>Notes</h1><ul>%s</ul>" % "".join("<li>%s</li>" % n for n in notes)


@app.post("/notes")
def add_note():
    text = request.form.get("text", "").strip()
    if not text:
        return "text is required", 400
    notes.append(text.replace("<", "&lt;"))
    return redirect(url_for("index"), code=303)


@app.route("/api/echo", methods=["POST"])
def echo():
    document = request.get_json(silent=True)
    if document is None:
        return jsonify(error="expected a JSON body"), 415
    return jsonify(received=document, length=request.content_length)


@app.get("/visits")
def visits():
    count = int(request.cookies.get("visits", "0")) + 1
    response = make_response("visit %d" % count)
    response.set_cookie("visits", str(count), httponly=True, samesite="Lax")
    return response


@app.errorhandler(404)
def not_found(error):
    return jsonify(error="not found", path=request.path), 404


def main(port=8000):
    with make_server("127.0.0.1", port, app) as httpd, contextlib.suppress(KeyboardInterrupt):
        print("Serving the Flask app on http://127.0.0.1:%d/ ..." % port, flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
