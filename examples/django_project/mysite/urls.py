"""Three views: a page, a greeting from the URL, and a JSON echo."""

import json

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


def index(request):
    return HttpResponse("<h1>Django on devserve</h1><p>Try /hello/ada or POST /api/echo</p>")


def hello(request, name):
    return HttpResponse("Hello, %s!" % name, content_type="text/plain; charset=utf-8")


@csrf_exempt  # an API for non-browser clients; forms keep Django's CSRF check
@require_POST
def echo(request):
    try:
        document = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "expected a JSON body"}, status=400)
    return JsonResponse({"received": document, "script_name": request.META["SCRIPT_NAME"]})


urlpatterns = [
    path("", index),
    path("hello/<str:name>", hello),
    path("api/echo", echo),
]
