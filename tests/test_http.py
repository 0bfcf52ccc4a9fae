"""The shared HTTP layer: errors by status, one retry policy, https only."""

import httpx
import pytest
import respx

from okrsync import http
from okrsync.errors import ConfigError, FatalError, RetryableError

BASE = "https://tool.example.com"
TOKEN = "tok-SECRET-123"


@pytest.fixture
def client():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        c = http.new_client(BASE, headers={"Authorization": f"Bearer {TOKEN}"})
        yield c, router
        c.close()


def call(c, sleeps, attempts=4):
    policy = http.retrying(attempts=attempts, sleep=sleeps.append)
    return http.request_json(c, "GET", "/goals", endpoint="tool", policy=policy)


def test_503_then_200_is_retried_with_backoff(client):
    c, router = client
    router.get("/goals").mock(side_effect=[httpx.Response(503), httpx.Response(200, json={"data": [1]})])
    sleeps = []
    assert call(c, sleeps) == {"data": [1]}
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 30


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "7"}, 7.0),
    ({"X-RateLimit-Reset": "2000000030"}, 30.0),  # a unix time (ClickUp)
    ({"X-RateLimit-Reset": "12"}, 12.0),  # seconds
])
def test_429_waits_exactly_as_long_as_the_server_asks(client, headers, expected, monkeypatch):
    monkeypatch.setattr(http.time, "time", lambda: 2_000_000_000.0)
    c, router = client
    router.get("/goals").mock(side_effect=[httpx.Response(429, headers=headers), httpx.Response(200, json=[])])
    sleeps = []
    assert call(c, sleeps) == []
    assert sleeps == [pytest.approx(expected)]


def test_a_wait_longer_than_five_minutes_fails_at_once(client):
    c, router = client
    route = router.get("/goals").mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RetryableError, match="tool: GET /goals → 429"):
        call(c, [])
    assert route.call_count == 1


def test_attempts_are_bounded_and_the_error_names_the_endpoint(client):
    c, router = client
    route = router.get("/goals").mock(return_value=httpx.Response(502))
    with pytest.raises(RetryableError, match=r"^tool: GET /goals → 502"):
        call(c, [], attempts=3)
    assert route.call_count == 3


@pytest.mark.parametrize("status, words", [(401, "credentials"), (403, "permission"), (404, "Issue does not exist")])
def test_other_4xx_fail_without_retry_and_without_secrets(client, status, words):
    c, router = client
    route = router.get("/goals").mock(return_value=httpx.Response(status, json={"errorMessages": ["Issue does not exist"]}))
    with pytest.raises(FatalError, match=words) as err:
        call(c, [])
    assert route.call_count == 1
    assert TOKEN not in str(err.value)


def test_truncated_json_and_timeouts_are_retried(client):
    c, router = client
    router.get("/goals").mock(side_effect=[
        httpx.Response(200, content=b'{"data": [1, 2', headers={"Content-Type": "application/json"}),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("reset"),
        httpx.Response(200, json={"data": [1, 2]}),
    ])
    sleeps = []
    assert call(c, sleeps, attempts=5) == {"data": [1, 2]}
    assert len(sleeps) == 3


def test_network_failure_after_all_attempts_is_an_okrsync_error(client):
    c, router = client
    router.get("/goals").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(RetryableError, match="ConnectError"):
        call(c, [], attempts=2)


@pytest.mark.parametrize("url, ok", [
    ("https://acme.atlassian.net", True), ("http://127.0.0.1:8080", True), ("http://localhost:9", True),
    ("http://[::1]:9", True), ("http://acme.atlassian.net", False), ("http://10.0.0.5", False), ("ftp://x", False),
])
def test_plain_http_only_to_loopback(url, ok):
    if ok:
        assert http.check_url(url, "endpoints.jira.site") == url.rstrip("/")
    else:
        with pytest.raises(ConfigError, match="endpoints.jira.site"):
            http.check_url(url, "endpoints.jira.site")


def test_client_sends_a_user_agent_and_counts_retries(client):
    c, router = client
    route = router.get("/goals").mock(side_effect=[httpx.Response(500), httpx.Response(200, json={})])
    retried = []
    policy = http.retrying(sleep=lambda s: None, on_retry=lambda: retried.append(1))
    http.request_json(c, "GET", "/goals", endpoint="tool", policy=policy)
    assert route.calls.last.request.headers["User-Agent"].startswith("okrsync/")
    assert retried == [1]


def test_retry_after_as_an_http_date_or_garbage(monkeypatch):
    monkeypatch.setattr(http.time, "time", lambda: 1_000_000_000.0)  # 2001-09-09T01:46:40Z
    request = httpx.Request("GET", BASE)
    dated = httpx.Response(429, headers={"Retry-After": "Sun, 09 Sep 2001 01:47:00 GMT"}, request=request)
    assert http.retry_after(dated) == pytest.approx(20.0)
    assert http.retry_after(httpx.Response(429, headers={"Retry-After": "soon"}, request=request)) is None


def test_bearer_auth_sends_the_token_and_never_shows_it():
    auth = http.BearerAuth(TOKEN)
    request = next(auth.auth_flow(httpx.Request("GET", BASE + "/goals")))
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(auth) and TOKEN not in str(auth)


def test_googles_nested_error_body_gives_its_message(client):
    c, router = client
    router.get("/goals").mock(return_value=httpx.Response(400, json={
        "error": {"code": 400, "message": "Invalid value at 'data[0].values'", "status": "INVALID_ARGUMENT"}}))
    with pytest.raises(FatalError) as caught:
        call(c, [])
    assert str(caught.value) == "tool: GET /goals → 400: Invalid value at 'data[0].values'"


def test_a_costly_request_reserves_its_slots_at_once():
    now, sleeps = [100.0], []
    pacer = http.Pacer(10, sleep=sleeps.append, clock=lambda: now[0])  # a slot every 0.1 s
    pacer.wait(cost=5)  # due at once, and holds the next four slots
    pacer.wait()
    assert sleeps == [pytest.approx(0.5)]
    now[0] += 0.6
    pacer.wait(cost=0)  # counted as one
    pacer.wait()
    assert sleeps[1:] == [pytest.approx(0.1)]


def test_api_call_paces_by_cost(client):
    c, router = client
    router.post("/batch").mock(return_value=httpx.Response(200, json={"data": []}))
    api = http.Api(c, "tool", rate=10)
    costs = []
    api.pacer.wait = lambda cost=1: costs.append(cost)
    api.call("POST", "/batch", json={}, cost=7)
    api.call("POST", "/batch", json={})
    assert costs == [7, 1] and api.take_counts() == (2, 0)


def test_a_thread_asleep_when_a_hold_comes_queues_behind_it():
    now = [0.0]
    pacer = http.Pacer(10, clock=lambda: now[0])
    pacer.wait(cost=3)  # slots 0.0–0.3
    sleeps = []

    def sleep(seconds):  # while this thread sleeps towards 0.3, another worker sees a 429
        sleeps.append(seconds)
        if len(sleeps) == 1:
            pacer.hold(5)
        now[0] += seconds

    pacer.sleep = sleep
    pacer.wait()
    assert sleeps == [pytest.approx(0.3), pytest.approx(4.7)] and now[0] == pytest.approx(5.0)
