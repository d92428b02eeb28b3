"""Middleware of the panel's own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import patch_cache_control


def method_not_allowed_page(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """@require_POST answers an empty 405: someone who opened such a URL (a pasted link,
    Enter in the address bar after a form) gets a page that says what to do instead."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if response.status_code == 405 and not response.content and not request.htmx:
            page = TemplateResponse(request, "405.html", status=405)
            page["Allow"] = response.get("Allow", "")
            return page.render()
        return response

    return middleware


def private_no_store(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Every answer of a view is for its reader only: pages, htmx fragments and the polling
    endpoints show a team's servers, members, token hints and activity, which no shared
    cache (a proxy, a CDN) may keep and no browser may store on disk or show again after
    logging out. Applied to every view rather than page by page, so a new page cannot
    forget it; WhiteNoise answers static files before this runs, so they stay cacheable."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware
