"""Headers every answer carries or checks: no caching or sniffing of what is private, a request id
echoed or made, and headers that are not UTF-8 refused."""


def test_authenticated_responses_are_not_cached_or_sniffed(user):
    res = user.get('/bucketlists/')
    assert res.headers['Cache-Control'] == 'no-store'
    assert res.headers['X-Content-Type-Options'] == 'nosniff'


def test_request_id_is_echoed_or_generated(client):
    assert client.get('/health', headers={'X-Request-ID': 'abc-123'}).headers['X-Request-ID'] == 'abc-123'
    generated = client.get('/health').headers['X-Request-ID']
    assert len(generated) == 32
    assert client.get('/health', headers={'X-Request-ID': 'bad id\x01'}).headers['X-Request-ID'] != 'bad id\x01'
    missing = client.get('/nowhere', headers={'X-Request-ID': 'on-errors-too'}, status=404)
    assert missing.headers['X-Request-ID'] == 'on-errors-too'


def test_headers_that_are_not_utf8_are_400(client):
    res = client.get('/bucketlists/', headers={'Authorization': 'Bearer \xff\xfe'}, status=400)
    assert res.content_type == 'application/problem+json'
    client.get('/health', headers={'X-Request-ID': '\xc3'}, status=400)
