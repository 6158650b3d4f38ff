"""The browsable API: an HTML page for a browser asking for any resource URL."""
import re
from html import escape

from bottle import request, response

from fields import BUCKETLIST, ITEM, LABEL, MEMBER, PASSWORD_MIN_LENGTH, STEP, form_input, form_inputs

# The page sends the token itself (static/browsable.js), so nothing inline is needed or allowed.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; form-action 'self'; base-uri 'none'; "
                           "frame-ancestors 'none'")

# GET routes that are not API resources, besides the pages for people (a route's ``page``): a
# browser gets them as they are.
NOT_RESOURCES = ('/livez', '/readyz', '/metrics', '/calendar/')  # (a calendar app's, whatever it accepts)

# RFC 9110's qvalue: 0 to 1, at most three decimals.
Q_VALUE = re.compile(r'0(\.[0-9]{0,3})?|1(\.0{0,3})?')


class BrowsablePlugin:
    """Answers a browser's GET (Accept prefers text/html) with the HTML page; API clients get JSON."""
    name, api = 'browsable', 2

    def apply(self, callback, route):
        if not is_resource(route):
            return callback

        def wrapper(*args, **kwargs):
            # Every answer of a resource route carries Vary: Accept (web.add_standard_headers).
            if prefers_html(request.get_header('Accept', '')):
                response.content_type = 'text/html; charset=utf-8'
                response.set_header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
                if request.path == '/':
                    return FRONT_PAGE
                return page(request.path, request.query.getunicode('q', default=''))
            return callback(*args, **kwargs)
        return wrapper


def is_resource(route):
    return route.method == 'GET' and not route.config.get('page') and not route.rule.startswith(NOT_RESOURCES)


def prefers_html(accept):
    """True when ``accept`` ranks text/html above application/json; a tie goes to JSON."""
    lowered = accept.lower()
    if ('text/' not in lowered and '*/*' not in lowered) or lowered.strip() == '*/*':
        return False  # no range for text/html, or a tie: most API clients, answered without parsing
    return quality(accept, 'text/html') > quality(accept, 'application/json')


def quality(accept, media_type):
    """The q value an Accept header gives ``media_type``: its most specific range wins (RFC 9110)."""
    ranges = {media_type: 2, media_type.split('/')[0] + '/*': 1, '*/*': 0}
    best = (-1, 0.0)
    for part in accept.split(','):
        media_range, *params = [text.strip() for text in part.split(';')]
        specificity = ranges.get(media_range.lower())
        if specificity is None:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition('=')
            if name.strip().lower() == 'q':
                q = float(value) if Q_VALUE.fullmatch(value.strip()) else 0.0
        best = max(best, (specificity, q))
    return best[1]


# --- The page ------------------------------------------------------------------------------------

PAGE = '''<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{path} · Bucketlist API</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<script src="/static/browsable.js" defer></script>
</head>
<body>
<header>
<h1><a href="/bucketlists/">Bucketlist API</a></h1>
<a href="/items/?due=today">Today</a>
<a href="/invitations">Invitations</a>
<a href="/labels">Labels</a>
<a href="/activity">Activity</a>
<a href="/items/completed">Completed</a>
<a href="/trash">Trash</a>
<a href="/docs">API documentation</a>
<div id="signed-in" hidden>
Logged in as <strong id="email"></strong>
<form id="logout" method="post" action="/auth/logout" data-method="POST"><button>Log out</button></form>
</div>
</header>
<nav class="breadcrumbs" aria-label="Breadcrumbs">{breadcrumbs}</nav>
<main>
<noscript><p>This page needs JavaScript to send your access token. API clients get JSON at the
same URL: send <code>Accept: application/json</code>.</p></noscript>
<section id="sign-in" hidden>
<form id="login" method="post" action="/auth/login" data-method="POST">
<h2>Log in</h2>
<label>Email <input type="email" name="email" required autocomplete="username"></label>
<label>Password <input type="password" name="password" required autocomplete="current-password"></label>
<button>Log in</button>
{said}
</form>
<form id="register" method="post" action="/auth/register" data-method="POST">
<h2>Register</h2>
<label>Email <input type="email" name="email" required autocomplete="username"></label>
<label>Password
<input type="password" name="password" required minlength="{password_min_length}" autocomplete="new-password"></label>
<button>Register</button>
{said}
</form>
</section>
<div id="result" role="status"></div>
<section id="response" aria-label="Response">
<pre id="request">GET {path}</pre>
<pre id="head"></pre>
<nav id="pages" aria-label="Pages"></nav>
<pre id="body">Loading…</pre>
</section>
<section id="forms" hidden>{forms}</section>
</main>
</body>
</html>
'''


FRONT_PAGE = '''<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bucketlist API</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<header><h1>Bucketlist API</h1></header>
<main>
<p>A REST API for bucketlists: named lists of life goals, each holding items you tick off as you
do them. Register, log in, and send the access token as <code>Authorization: Bearer</code>.</p>
<ul>
<li><a href="/docs">API documentation</a>: every route, and <em>Try it out</em> against this service.</li>
<li><a href="/bucketlists/">Browsable API</a>: your bucketlists as web pages (log in there).</li>
<li><a href="/openapi.json">OpenAPI document</a>, for client generators.</li>
</ul>
</main>
</body>
</html>
'''


def page(path, q=''):
    """The browsable page for ``path``; its script fetches the resource with the user's token."""
    return PAGE.format(path=escape(path), breadcrumbs=breadcrumbs(path), forms=forms(path, q),
                       password_min_length=PASSWORD_MIN_LENGTH, said=SAID)


def breadcrumbs(path):
    """Links to ``path`` and every resource above it: collections end with '/', members do not."""
    links, prefix = [], ''
    for segment in path.strip('/').split('/'):
        prefix += '/' + segment
        href = prefix if segment.isdigit() or prefix == path else prefix + '/'
        links.append(f'<a href="{escape(href)}">{escape(segment)}</a>')
    return ' / '.join(links)


# Each field's input comes from its declaration (fields.py).
NAME = form_input('name', BUCKETLIST['name'], required=True)
BUCKETLIST_INPUTS = form_inputs(BUCKETLIST, required=('name',))
ITEM_INPUTS = form_inputs(ITEM, required=('name',))
MEMBER_INPUTS = form_inputs(MEMBER, required=('email', 'role'))
LABEL_INPUTS = form_inputs(LABEL, required=('name',))
STEP_INPUTS = form_inputs(STEP, required=('name',))
ROLE = form_input('role', MEMBER['role'])
INVITATION_ID = ('<label>Invitation\'s id <input name="id" required inputmode="numeric" pattern="[0-9]+" '
                 'data-in-path></label>')
TRASHED_ID = ('<label>Its id (in the list above) <input name="id" required inputmode="numeric" pattern="[0-9]+" '
              'data-in-path></label>')
# The script puts this field's value at the end of the form's URL instead of in the body.
MEMBER_ID = ('<label>Member\'s user_id <input name="user_id" required inputmode="numeric" pattern="[0-9]+" '
             'data-in-path></label>')


def forms(path, q):
    """The forms for what a user can do at ``path``; browsable.js sends them as JSON."""
    if path == '/bucketlists/':
        return search(path, q) + form('POST', path, 'New bucketlist', NAME, 'Create')
    if re.fullmatch(r'/bucketlists/[0-9]+', path):
        return (form('PUT', path, 'Edit', BUCKETLIST_INPUTS, 'Save', prefill=True)
                + form('POST', path + '/items/', 'New item', ITEM_INPUTS, 'Add item')
                + members_panel(path + '/members')
                + activity_panel(path + '/activity')
                + form('DELETE', path, 'Delete this bucketlist and its items (to the trash)', '', 'Delete'))
    if re.fullmatch(r'/bucketlists/[0-9]+/members', path):
        return (form('POST', path, 'Share', MEMBER_INPUTS, 'Share')
                + form('PATCH', path + '/', 'Change a member\'s role', MEMBER_ID + ROLE, 'Change')
            + form('DELETE', path + '/', 'Remove a member, withdraw an invitation (or leave: your own user_id)',
                   MEMBER_ID, 'Remove'))
    if path == '/trash':
        return (form('POST', '/trash/bucketlists/{id}/restore', 'Restore a bucketlist', TRASHED_ID, 'Restore')
                + form('POST', '/trash/items/{id}/restore', 'Restore an item', TRASHED_ID, 'Restore')
                + form('DELETE', '/trash/bucketlists/{id}', 'Delete a bucketlist for good', TRASHED_ID, 'Delete')
                + form('DELETE', '/trash/items/{id}', 'Delete an item for good', TRASHED_ID, 'Delete'))
    if path == '/labels':
        return form('POST', path, 'New label', LABEL_INPUTS, 'Create')
    if re.fullmatch(r'/labels/[0-9]+', path):
        return (form('PATCH', path, 'Edit', LABEL_INPUTS, 'Save', prefill=True)
                + form('DELETE', path, 'Delete this label (it comes off every item)', '', 'Delete'))
    if path == '/invitations':
        return (form('POST', '/invitations/{id}/accept', 'Accept an invitation', INVITATION_ID, 'Accept')
                + form('POST', '/invitations/{id}/decline', 'Decline an invitation', INVITATION_ID, 'Decline'))
    if re.fullmatch(r'/bucketlists/[0-9]+/items/', path):
        return search(path, q) + form('POST', path, 'New item', ITEM_INPUTS, 'Add item')
    if re.fullmatch(r'/bucketlists/[0-9]+/items/[0-9]+', path):
        return (form('PATCH', path, 'Edit', ITEM_INPUTS, 'Save', prefill=True)
                + move_form(path + '/move')
                + form('POST', path + '/steps/', 'New step', STEP_INPUTS, 'Add step')
                + form('DELETE', path, 'Delete this item (to the trash)', '', 'Delete'))
    if re.fullmatch(r'/bucketlists/[0-9]+/items/[0-9]+/steps/', path):
        return form('POST', path, 'New step', STEP_INPUTS, 'Add step')
    if re.fullmatch(r'/bucketlists/[0-9]+/items/[0-9]+/steps/[0-9]+', path):
        return (form('PATCH', path, 'Edit', STEP_INPUTS, 'Save', prefill=True)
                + form('DELETE', path, 'Delete this step', '', 'Delete'))
    return ''


def activity_panel(activity_path):
    return (f'<section class="activity"><h2>Activity</h2><p><a href="{escape(activity_path)}">Who changed what '
            'in this bucketlist</a>, the newest first.</p></section>')


def members_panel(members_path):
    """Sharing: who shares the list (its members page), and a form for the owner to add one."""
    return (f'<section class="members"><h2>Members</h2><p><a href="{escape(members_path)}">Who shares this '
            'bucketlist</a>: change roles and remove members there.</p></section>'
            + form('POST', members_path, 'Share', MEMBER_INPUTS, 'Share'))


# Where the script says how a form's request went, in the form itself (a live region: screen
# readers announce it).
SAID = '<p class="result" role="status" aria-live="polite"></p>'


def form(method, action, title, fields, button, prefill=False):
    # method="post" is what a browser can send without the script; data-method is what it sends.
    return (f'<form method="post" action="{escape(action)}" data-method="{method}"'
            f'{" data-prefill" if prefill else ""}>'
            f'<h2>{escape(title)}</h2>{fields}'
            f'<button>{escape(button)}</button>{SAID}</form>')


def move_form(action):
    # The script sends the item's position plus the button's value.
    return (f'<form method="post" action="{escape(action)}" data-method="POST" data-move><h2>Order</h2>'
            '<button name="step" value="-1">Move up</button> <button name="step" value="1">Move down</button>'
            f'{SAID}</form>')


def search(path, q):
    # A plain GET form: the page reloads with ?q=, and the script fetches that URL.
    return (f'<form method="get" action="{escape(path)}" role="search"><h2>Search</h2>'
            f'<label>Name contains <input type="search" name="q" value="{escape(q)}"></label>'
            '<button>Search</button></form>')
