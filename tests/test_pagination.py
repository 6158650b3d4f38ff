"""Pages, Link and X-Total-Count on both collections; case-insensitive literal search; done filter."""
import re
from urllib.parse import unquote

import pytest
from helpers import new_list


def links(res):
    return {rel: url for url, rel in re.findall(r'<([^>]*)>; rel="(\w+)"', res.headers['Link'])}


@pytest.fixture
def many(user):
    for number in range(1, 46):
        new_list(user, f'Goal {number:02d}')
    return user


def test_default_page_is_the_first_twenty_in_id_order(many):
    res = many.get('/bucketlists/')
    assert [b['name'] for b in res.json] == [f'Goal {n:02d}' for n in range(1, 21)]
    assert res.headers['X-Total-Count'] == '45'
    assert links(res) == {'first': '/bucketlists/?page=1&limit=20', 'next': '/bucketlists/?page=2&limit=20',
                          'last': '/bucketlists/?page=3&limit=20'}


def test_following_next_visits_every_row_once(many):
    seen, url = [], '/bucketlists/?limit=7'
    while url:
        res = many.get(url)
        seen += [b['id'] for b in res.json]
        url = links(res).get('next')
    assert seen == sorted(set(seen)) and len(seen) == 45


def test_last_page_and_prev(many):
    res = many.get('/bucketlists/?page=3&limit=20')
    assert len(res.json) == 5
    assert links(res)['prev'] == '/bucketlists/?page=2&limit=20' and 'next' not in links(res)


def test_a_page_past_the_end_is_empty(many):
    res = many.get('/bucketlists/?page=9')
    assert res.json == [] and res.headers['X-Total-Count'] == '45'
    assert links(res)['prev'] == '/bucketlists/?page=3&limit=20'


def test_the_last_possible_page_is_accepted(user):
    assert user.get('/bucketlists/?page=2147483647').json == []
    user.get('/bucketlists/?page=2147483648', status=400)


def test_limit_of_one_hundred_is_the_most(many):
    assert len(many.get('/bucketlists/?limit=100').json) == 45


@pytest.mark.parametrize('query', ['page=0', 'page=-1', 'page=abc', 'page=1.5', 'limit=0', 'limit=101',
                                   'limit=', 'page=99999999999999999999', 'page=1&page=2', 'limit=%EF%BC%91'])
def test_bad_page_parameters_are_400(many, query):
    res = many.get(f'/bucketlists/?{query}', status=400)
    assert res.content_type == 'application/problem+json'


def test_empty_collection_has_one_page(user):
    res = user.get('/bucketlists/')
    assert res.json == [] and res.headers['X-Total-Count'] == '0'
    assert links(res) == {'first': '/bucketlists/?page=1&limit=20', 'last': '/bucketlists/?page=1&limit=20'}


def test_search_is_a_case_insensitive_substring(user):
    for name in ('Visit Paris', 'PARIS again', 'Rome', 'Ärger in Örebro'):
        new_list(user, name)
    assert [b['name'] for b in user.get('/bucketlists/?q=paris').json] == ['Visit Paris', 'PARIS again']
    assert [b['name'] for b in user.get('/bucketlists/?q=%C3%A4rger').json] == ['Ärger in Örebro']
    assert user.get('/bucketlists/?q=paris').headers['X-Total-Count'] == '2'


def test_search_keeps_other_parameters_in_links(user):
    for number in range(3):
        new_list(user, f'Paris {number}')
    res = user.get('/bucketlists/?q=paris&limit=1')
    assert links(res)['next'] == '/bucketlists/?q=paris&page=2&limit=1'


def test_links_keep_non_ascii_searches(user):
    for name in ['Café Paris', 'Café Lyon']:
        new_list(user, name)
    res = user.get('/bucketlists/?q=caf%C3%A9&limit=1')
    next_link = [link for link in res.headers['Link'].split(', ') if 'rel="next"' in link][0]
    url = next_link[1:next_link.index('>')]
    assert 'q=caf%C3%A9' in url and unquote(url).count('é') == 1
    assert [b['name'] for b in user.get(url).json] == ['Café Lyon']


@pytest.mark.parametrize('query, expected', [('100%', ['100% done']), ('a_b', ['a_b']), ('\\', ['back\\slash'])])
def test_search_wildcards_are_literal(user, query, expected):
    for name in ('100% done', '1000 done', 'a_b', 'axb', 'back\\slash'):
        new_list(user, name)
    assert [b['name'] for b in user.get('/bucketlists/', {'q': query}).json] == expected


def test_items_paginate_search_and_filter_by_done(user):
    bucketlist, _ = new_list(user, items=[{'name': f'Item {number}', 'done': number % 5 == 0} for number in range(25)])
    url = f'/bucketlists/{bucketlist["id"]}/items/'
    assert len(user.get(url).json) == 20
    assert user.get(url).headers['X-Total-Count'] == '25'
    assert [i['name'] for i in user.get(url + '?done=true').json] == [f'Item {n}' for n in (0, 5, 10, 15, 20)]
    assert len(user.get(url + '?done=false&limit=100').json) == 20
    assert [i['name'] for i in user.get(url + '?q=item 1&done=false').json][:2] == ['Item 1', 'Item 11']
    user.get(url + '?done=maybe', status=400)
    user.get(url + '?page=0', status=400)


@pytest.mark.parametrize('sort', ['position', '-position', 'name', '-due_date'])
def test_an_items_total_follows_adds_moves_and_deletes_and_its_pages_add_up(user, sort):
    """Unfiltered, a page of items takes its total from its list's count; it must stay the
    number of items the list holds, whatever moved in or out, and pages must cover them once."""
    first, made = new_list(user, items=[{'name': f'Item {n}', 'due_date': f'2027-01-{n + 1:02d}'} for n in range(7)])
    second, _ = new_list(user)
    first, second = first['id'], second['id']

    def totals():
        return [user.get(f'/bucketlists/{bucketlist}/items/?sort={sort}&limit=2').headers['X-Total-Count']
                for bucketlist in (first, second)]
    assert totals() == ['7', '0']
    user.post_json(f'/bucketlists/{first}/items/{made[0]["id"]}/move', {'bucketlist_id': second}, status=200)
    user.post_json(f'/bucketlists/{first}/items/{made[1]["id"]}/move', {'position': 0}, status=200)
    user.delete(f'/bucketlists/{first}/items/{made[2]["id"]}', status=200)
    assert totals() == ['5', '1']
    assert user.get(f'/bucketlists/{first}/items/?sort={sort}&q=item 6').headers['X-Total-Count'] == '1'
    whole = [i['id'] for i in user.get(f'/bucketlists/{first}/items/?sort={sort}&limit=100').json]
    assert sorted(whole) == sorted(item['id'] for item in made[1:] if item is not made[2])
    pages = [user.get(f'/bucketlists/{first}/items/?sort={sort}&limit=2&page={page}') for page in (1, 2, 3, 4)]
    assert [i['id'] for page in pages for i in page.json] == whole
    assert {page.headers['X-Total-Count'] for page in pages} == {'5'}
