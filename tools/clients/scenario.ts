// Drives a running bucketlist service through openapi-fetch, typed by the `paths` that openapi-typescript
// generated from the service's OpenAPI document (check.sh writes ./schema.d.ts beside a copy of this file):
//
//   tsx scenario.ts BASE_URL
//
// Every request goes through createClient<paths>(): a path, parameter or body the document does not
// describe fails tsc --strict before anything runs. One line per step; exit status 1 at the first mismatch.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
type Problem = Schemas["Problem"];
type Client = ReturnType<typeof createClient<paths>>;

let step = 0;

class Mismatch extends Error {}

function say(text: string): void {
  step += 1;
  console.log(`ts ${String(step).padStart(2)}. ${text}`);
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Mismatch(what);
}

/** The typed body of a success with this status, or a Mismatch naming what came instead. */
function ok<T>(name: string, status: number, result: { data?: T; error?: unknown; response: Response }): T {
  const { data, error, response } = result;
  if (response.status !== status || data === undefined) {
    throw new Mismatch(`${name}: status ${response.status}, expected ${status}: ${JSON.stringify(error ?? data)}`);
  }
  return data;
}

/** The typed problem of a refusal: its status and its `type` the ones expected. */
function refused(
  name: string,
  status: number,
  type: Problem["type"],
  result: { data?: unknown; error?: Problem; response: Response },
): Problem {
  const { data, error, response } = result;
  check(response.status === status, `${name}: status ${response.status}, expected ${status}: ${JSON.stringify(data)}`);
  check(error !== undefined, `${name}: no problem document`);
  check(
    response.headers.get("content-type") === "application/problem+json",
    `${name}: content type ${response.headers.get("content-type")}`,
  );
  check(error.type === type && error.status === status, `${name}: problem ${JSON.stringify(error)}, expected ${type}`);
  return error;
}

function client(baseUrl: string, token?: string): Client {
  return createClient<paths>({
    baseUrl,
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
}

async function main(baseUrl: string): Promise<void> {
  const anonymous = client(baseUrl);
  const run = Math.random().toString(36).slice(2, 14);
  const email = `ts-owner-${run}@example.com`;
  const password = `ts-owner-password-${run}`;
  const viewerEmail = `ts-viewer-${run}@example.com`;
  const viewerPassword = `ts-viewer-password-${run}`;

  ok("register", 201, await anonymous.POST("/auth/register", { body: { email, password } }));
  say(`registered ${email}`);
  const loggedIn = ok("login", 200, await anonymous.POST("/auth/login", { body: { email, password } }));
  check(loggedIn.token_type === "Bearer" && loggedIn.expires_in > 0, `login: ${JSON.stringify(loggedIn)}`);
  say("logged in");
  const tokens = ok(
    "refresh",
    200,
    await anonymous.POST("/auth/refresh", { body: { refresh_token: loggedIn.refresh_token } }),
  );
  check(tokens.access_token !== loggedIn.access_token, "refresh: the same access token again");
  check(tokens.refresh_token !== loggedIn.refresh_token, "refresh: the same refresh token again");
  const owner = client(baseUrl, tokens.access_token);
  const account: Schemas["Account"] = ok("getAccount", 200, await owner.GET("/users/me"));
  check(account.email === email, `getAccount: ${account.email}`);
  say("refreshed; the new access token works");

  const created: Schemas["BucketlistWithItems"] = ok(
    "createBucketlist",
    201,
    await owner.POST("/bucketlists/", { body: { name: `Trips ${run}`, description: "Places to see before 40" } }),
  );
  check(created.description === "Places to see before 40" && created.role === "owner", JSON.stringify(created));
  const bucketlist_id = created.id;
  const books = ok(
    "createBucketlist",
    201,
    await owner.POST("/bucketlists/", { body: { name: `Books ${run}`, description: "To read" } }),
  );
  say(`created bucketlist ${bucketlist_id} with a description (and a second one)`);

  const inList = { params: { path: { bucketlist_id } } };
  const wanted = [
    { name: "Book the flights", notes: "notes on Book the flights", due_date: "2027-03-01" },
    { name: "Pack the bags", notes: "notes on Pack the bags", due_date: "2027-06-15" },
    { name: "Learn to dive", notes: "notes on Learn to dive", due_date: "2028-01-31" },
  ] satisfies Schemas["ItemCreate"][];
  const items: Schemas["Item"][] = [];
  for (const [position, body] of wanted.entries()) {
    const item = ok("createItem", 201, await owner.POST("/bucketlists/{bucketlist_id}/items/", { ...inList, body }));
    check(
      item.name === body.name && item.notes === body.notes && item.due_date === body.due_date
        && item.position === position && !item.done && item.done_at === null,
      `createItem: ${JSON.stringify(item)}`,
    );
    items.push(item);
  }
  const [first, second, third] = items;
  check(first !== undefined && second !== undefined && third !== undefined, "three items");
  say(`added ${items.length} items with notes and due dates`);

  const itemPath = (item_id: number) => ({ params: { path: { bucketlist_id, item_id } } });
  const ticked = ok(
    "updateItem",
    200,
    await owner.PATCH("/bucketlists/{bucketlist_id}/items/{item_id}", { ...itemPath(first.id), body: { done: true } }),
  );
  check(ticked.done && ticked.done_at !== null, `updateItem done: ${JSON.stringify(ticked)}`);
  say(`ticked item ${ticked.id} done at ${ticked.done_at}`);

  const renamed = ok(
    "updateItem",
    200,
    await owner.PATCH("/bucketlists/{bucketlist_id}/items/{item_id}", {
      ...itemPath(first.id),
      body: { name: "Book the flights to Tahiti" },
    }),
  );
  check(renamed.name === "Book the flights to Tahiti", `rename: ${renamed.name}`);
  check(renamed.done && renamed.done_at === ticked.done_at, `rename: done changed: ${JSON.stringify(renamed)}`);
  check(
    renamed.notes === first.notes && renamed.due_date === first.due_date,
    `rename: notes or due date changed: ${JSON.stringify(renamed)}`,
  );
  say("renamed the ticked item with a PATCH of name alone: still done, notes and due date unchanged");

  const moved = ok(
    "moveItem",
    200,
    await owner.POST("/bucketlists/{bucketlist_id}/items/{item_id}/move", { ...itemPath(third.id), body: { position: 0 } }),
  );
  check(moved.position === 0, `moveItem: position ${moved.position}`);
  const order = ok("listItems", 200, await owner.GET("/bucketlists/{bucketlist_id}/items/", inList)).map((i) => i.id);
  check(
    JSON.stringify(order) === JSON.stringify([third.id, first.id, second.id]),
    `listItems after the move: ${JSON.stringify(order)}`,
  );
  say(`moved item ${moved.id} to the top: order ${JSON.stringify(order)}`);

  const sorted = async (page: number) =>
    ok("listBucketlists", 200, await owner.GET("/bucketlists/", { params: { query: { sort: "-name", limit: 1, page } } }))
      .map((b) => b.name);
  check(JSON.stringify(await sorted(1)) === JSON.stringify([`Trips ${run}`]), "listBucketlists -name page 1");
  check(JSON.stringify(await sorted(2)) === JSON.stringify([`Books ${run}`]), "listBucketlists -name page 2");
  const found = ok("listBucketlists", 200, await owner.GET("/bucketlists/", { params: { query: { q: "trips" } } }));
  check(found.length === 1 && found[0]?.id === bucketlist_id, `listBucketlists q=trips: ${JSON.stringify(found)}`);
  const open = ok(
    "listItems",
    200,
    await owner.GET("/bucketlists/{bucketlist_id}/items/", {
      params: { path: { bucketlist_id }, query: { done: false, sort: "-name" } },
    }),
  ).map((i) => i.name);
  check(
    JSON.stringify(open) === JSON.stringify(["Pack the bags", "Learn to dive"]),
    `listItems done=false sort=-name: ${JSON.stringify(open)}`,
  );
  say("listed with pagination (limit=1, pages 1 and 2), search (q) and sort (-name), items filtered by done");

  ok("register", 201, await anonymous.POST("/auth/register", { body: { email: viewerEmail, password: viewerPassword } }));
  const viewerLogin = ok(
    "login",
    200,
    await anonymous.POST("/auth/login", { body: { email: viewerEmail, password: viewerPassword } }),
  );
  const viewer = client(baseUrl, viewerLogin.access_token);
  const member = ok(
    "addMember",
    201,
    await owner.POST("/bucketlists/{bucketlist_id}/members", { ...inList, body: { email: viewerEmail, role: "viewer" } }),
  );
  check(member.email === viewerEmail && member.role === "viewer" && member.status === "pending", `addMember: ${JSON.stringify(member)}`);
  const before = await viewer.GET("/bucketlists/{bucketlist_id}", inList);
  check(before.response.status === 404, `the viewer sees the list before accepting: ${before.response.status}`);
  const invitations = ok("listInvitations", 200, await viewer.GET("/invitations"));
  const invitation = invitations[0];
  check(invitations.length === 1 && invitation !== undefined && invitation.bucketlist_id === bucketlist_id,
    `listInvitations: ${JSON.stringify(invitations)}`);
  const joined = ok("acceptInvitation", 200, await viewer.POST("/invitations/{invitation_id}/accept", {
    params: { path: { invitation_id: invitation!.id } },
  }));
  check(joined.id === bucketlist_id && joined.role === "viewer", `acceptInvitation: ${JSON.stringify(joined)}`);
  const members = ok("listMembers", 200, await owner.GET("/bucketlists/{bucketlist_id}/members", inList));
  check(
    JSON.stringify(members.map((x) => x.email).sort()) === JSON.stringify([email, viewerEmail].sort()),
    `listMembers: ${JSON.stringify(members)}`,
  );
  say(`shared bucketlist ${bucketlist_id} with ${viewerEmail} as viewer, who accepted the invitation`);

  const shared = ok("getBucketlist", 200, await viewer.GET("/bucketlists/{bucketlist_id}", inList));
  check(shared.role === "viewer" && shared.items.length === 3, `viewer getBucketlist: ${JSON.stringify(shared)}`);
  const seen = ok("getItem", 200, await viewer.GET("/bucketlists/{bucketlist_id}/items/{item_id}", itemPath(first.id)));
  check(seen.name === renamed.name, `viewer getItem: ${JSON.stringify(seen)}`);
  const viewerLists = ok("listBucketlists", 200, await viewer.GET("/bucketlists/", { params: { query: { role: "viewer" } } }));
  check(viewerLists.length === 1 && viewerLists[0]?.id === bucketlist_id, `viewer lists: ${JSON.stringify(viewerLists)}`);
  say("the viewer reads the list, an item and its shared lists");

  const refusal = refused(
    "createItem",
    403,
    "/problems/viewer",
    await viewer.POST("/bucketlists/{bucketlist_id}/items/", { ...inList, body: { name: "Sneak in" } }),
  );
  refused(
    "updateItem",
    403,
    "/problems/viewer",
    await viewer.PATCH("/bucketlists/{bucketlist_id}/items/{item_id}", { ...itemPath(second.id), body: { done: true } }),
  );
  say(`a viewer write is 403 ${refusal.type}: ${refusal.detail}`);

  const full = ok("syncChanges", 200, await owner.GET("/sync"));
  check(full.bucketlists.some((b) => b.id === bucketlist_id) && !full.has_more, "syncChanges: a full sync");
  const changed = ok(
    "updateItem",
    200,
    await owner.PATCH("/bucketlists/{bucketlist_id}/items/{item_id}", {
      ...itemPath(second.id),
      body: { notes: "Only carry-on", due_date: null },
    }),
  );
  check(changed.notes === "Only carry-on" && changed.due_date === null, `updateItem notes: ${JSON.stringify(changed)}`);
  const later = ok("syncChanges", 200, await owner.GET("/sync", { params: { query: { cursor: full.cursor } } }));
  check(
    later.items.length === 1 && later.items[0]?.id === second.id && later.items[0].notes === "Only carry-on",
    `syncChanges since cursor: ${JSON.stringify(later.items)}`,
  );
  check(
    later.bucketlists.length === 0 && later.deleted.items.length === 0 && later.deleted.bucketlists.length === 0,
    `syncChanges since cursor: more than the change: ${JSON.stringify(later)}`,
  );
  say(`sync: a full sync, one change, then ?cursor= gives just item ${second.id}`);

  const exported = ok("exportAccount", 200, await owner.GET("/users/me/export"));
  check(exported.account.email === email, `exportAccount: ${JSON.stringify(exported.account)}`);
  const exportedList = exported.bucketlists.find((b) => b.id === bucketlist_id);
  check(exportedList !== undefined && exportedList.items.length === 3, "exportAccount: the bucketlist and its items");
  say(`exported the account: ${exported.bucketlists.length} bucketlists, ${exported.sessions.length} sessions`);

  ok("deleteBucketlist", 200, await owner.DELETE("/bucketlists/{bucketlist_id}", { params: { path: { bucketlist_id: books.id } } }));
  const trashed: Schemas["TrashEntry"][] = ok("listTrash", 200, await owner.GET("/trash"));
  check(
    trashed.length === 1 && trashed[0]?.kind === "bucketlist" && trashed[0].id === books.id && trashed[0].bucketlist_id === null,
    `listTrash: ${JSON.stringify(trashed)}`,
  );
  const restored = ok(
    "restoreBucketlist",
    200,
    await owner.POST("/trash/bucketlists/{bucketlist_id}/restore", { params: { path: { bucketlist_id: books.id } } }),
  );
  check(restored.name === books.name, `restoreBucketlist: ${JSON.stringify(restored)}`);
  const entries: Schemas["ActivityEntry"][] = ok(
    "listBucketlistActivity",
    200,
    await owner.GET("/bucketlists/{bucketlist_id}/activity", { params: { path: { bucketlist_id }, query: { kind: "item.completed" } } }),
  );
  check(
    entries.length === 1 && entries[0]?.item_id === first.id && JSON.stringify(entries[0].changes) === '{"done":[false,true]}',
    `listBucketlistActivity: ${JSON.stringify(entries)}`,
  );
  const completions: Schemas["Completion"][] = ok("listCompletions", 200, await owner.GET("/items/completed"));
  check(completions.some((c) => c.item_id === first.id), `listCompletions: ${JSON.stringify(completions)}`);
  say(`deleted bucketlist ${books.id} to the trash and restored it whole; its activity and completions read`);

  refused(
    "deleteAccount",
    403,
    "/problems/wrong-password",
    await owner.DELETE("/users/me", { body: { password: "not-the-password" } }),
  );
  ok("getAccount", 200, await owner.GET("/users/me"));
  say("deleting the account with a wrong password is 403 /problems/wrong-password; the session stays");

  ok("deleteAccount", 200, await owner.DELETE("/users/me", { body: { password } }));
  ok("deleteAccount", 200, await viewer.DELETE("/users/me", { body: { password: viewerPassword } }));
  const gone = await owner.GET("/users/me");
  check(gone.response.status === 401 && gone.error !== undefined, `getAccount after delete: ${gone.response.status}`);
  say(`deleted both accounts; the old access token is 401 ${gone.error.type}`);
}

const [baseUrl] = process.argv.slice(2);
if (baseUrl === undefined || process.argv.length !== 3) {
  console.error("usage: tsx scenario.ts BASE_URL");
  process.exit(2);
}
try {
  await main(baseUrl.replace(/\/+$/, ""));
  console.log(`ts scenario passed: ${step} steps`);
} catch (failure) {
  if (!(failure instanceof Mismatch)) throw failure;
  console.error(`ts FAILED after step ${step}: ${failure.message}`);
  process.exit(1);
}
