// The analyst's page: a timeline and a relationship map on the three time axes. It reads only
// the public HTTP API (/api/v1), so it is also an example client of it.
"use strict";

const API = "/api/v1";
const AXES = ["as_of", "reported_by", "known_at"];
const FILTERS = ["actor", "kind", "certainty", "source"];
const VOCABULARY = JSON.parse(document.getElementById("vocabulary").textContent);
const STANCE_COLOURS = {
  alliance: "#0b6e2e", partnership: "#2f9e44", cooperation: "#8ccf7e", neutral: "#adb5bd",
  tension: "#f0a030", hostility: "#e8590c", war: "#c92a2a",
};
const SHAPES = {
  state: "round-rectangle", person: "ellipse", organisation: "diamond", region: "hexagon",
  bloc: "barrel",
};
const DAY = 24 * 3600 * 1000;
// A page view costs what it shows, not the store: each list shows its first SHOWN items (more
// on request, SHOWN at a time), read in at most READS requests (a page of relationships may
// come back short, with a cursor); a pair's details show the first BEHIND developments in full.
const SHOWN = 500;
const READS = 20;
const BEHIND = 50;

// Everything the URL says: the time axes, the selection, the filters and the datasets kept
// (`dataset`: comma-separated as the API takes it; empty for every dataset).
const state = { as_of: "", reported_by: "", known_at: "", pair: "", development: "",
  actor: "", kind: "", certainty: "", source: "", dataset: "" };
const page = {
  actors: new Map(), developments: new Map(), relationships: [], timeline: null, items: null,
  map: null, position: 0, viewed: 0, playing: false, earliest: null, seen: new Set(),
  refreshing: null, wanted: { developments: SHOWN, relationships: SHOWN }, more: {},
};
window.timelinePage = page; // for scripts and tests: the map and the timeline objects

// --- talking to the API ---------------------------------------------------------------

class ProblemError extends Error {
  constructor(problem) {
    const fields = Object.entries(problem.errors || {}).map(
      ([field, messages]) => `${field}: ${[].concat(messages).join(" ")}`);
    super([problem.detail || problem.title, ...fields].filter(Boolean).join(" — "));
    this.problem = problem;
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of [].concat(value)) if (one !== "" && one != null) search.append(name, one);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function api(path, params = {}, accept = "application/json") {
  const response = await fetch(API + path + query(params), { headers: { Accept: accept } });
  // How far the read model had got: the live feed starts there, so nothing falls between.
  const position = Number(response.headers.get("Timeline-Position"));
  if (position > page.viewed) page.viewed = position;
  if (!response.ok) {
    let problem = { title: `${response.status} ${response.statusText}` };
    try { problem = await response.json(); } catch (_) { /* not a problem document */ }
    throw new ProblemError(problem);
  }
  return accept === "application/json" ? response.json() : response.text();
}

// The pages of a cursor-paginated list (each response body), one at a time, as they are
// asked for.
async function* pages(path, params) {
  let after = null;
  do {
    const body = await api(path, { ...params, limit: SHOWN, after });
    yield body;
    after = body.next;
  } while (after);
}

// The first `wanted` items of a list (all of them when it holds fewer), and whether it holds
// more: read page by page, READS pages at most.
async function first(path, key, params, wanted) {
  const items = [];
  let reads = 0;
  for await (const body of pages(path, params)) {
    items.push(...body[key]);
    reads += 1;
    if (body.next && (items.length >= wanted || reads >= READS)) return { items, more: true };
  }
  return { items, more: false };
}

function axes() {
  const chosen = {};
  for (const name of AXES) if (state[name]) chosen[name] = state[name];
  return chosen;
}

// Reads answer from the read model: after a live event, ask for a view that includes it.
function reading() {
  return page.position ? { ...axes(), min_position: page.position } : axes();
}

// The datasets kept, for the reads that take them (lists, a pair, the replay).
function datasets() {
  return state.dataset ? { dataset: state.dataset } : {};
}

// --- small helpers --------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) element.append(child);
  }
  return element;
}

function actorName(id) {
  return page.actors.get(id)?.name || id;
}

function kindLabel(kind) {
  return VOCABULARY.kinds[kind]?.label || kind;
}

function plural(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function say(text, error = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

// A partial date ("2024", "2024-04", "2024-W14", "2024-04-08") as the days it can mean:
// [first, after last).
function period(value) {
  const week = /^(\d{4})-W(\d{2})$/.exec(value);
  if (week) {
    // ISO 8601: week 1 is the week with 4 January in it, and weeks run Monday to Sunday.
    const january4 = Date.UTC(Number(week[1]), 0, 4);
    const monday = january4 - ((new Date(january4).getUTCDay() + 6) % 7) * DAY;
    const start = monday + (Number(week[2]) - 1) * 7 * DAY;
    return { start, end: start + 7 * DAY, precision: "week" };
  }
  const [year, month, day] = value.split("-").map(Number);
  const start = Date.UTC(year, (month || 1) - 1, day || 1);
  const end = day ? start + DAY : month ? Date.UTC(year, month, 1) : Date.UTC(year + 1, 0, 1);
  return { start, end, precision: day ? "day" : month ? "month" : "year" };
}

function dateValue(date) {
  return typeof date === "string" ? date : date?.value;
}

function isoDay(time) {
  return new Date(time).toISOString().slice(0, 10);
}

// --- the URL --------------------------------------------------------------------------

function readUrl() {
  const search = new URLSearchParams(location.search);
  for (const name of Object.keys(state)) state[name] = search.get(name) || "";
}

function writeUrl() {
  const params = {};
  for (const [name, value] of Object.entries(state)) if (value) params[name] = value;
  // Commas stay commas (`pair=china,russia`, `dataset=seed,gdelt`): readable when shared.
  const url = location.pathname + query(params).replaceAll("%2C", ",");
  if (url === location.pathname + location.search) return;
  // Playing replaces the address at each step: Back leaves the replay, not one day of it.
  if (page.playing) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
}

function showState() {
  for (const name of AXES) $(`#${name}`).value = state[name];
  if (state.known_at) $("#advanced").open = true;
  for (const name of FILTERS) $(`#filter-${name}`).value = state[name];
  const kept = state.dataset.split(",");
  for (const box of datasetBoxes()) box.checked = !state.dataset || kept.includes(box.value);
  syncSliders();
}

// --- time controls ---------------------------------------------------------------------

function sliderBounds() {
  const now = new Date();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const first = page.earliest ?? today - 5 * 365 * DAY;
  return { first, days: Math.max(1, Math.round((today - first) / DAY)) };
}

function syncSliders() {
  const { first, days } = sliderBounds();
  for (const name of ["as_of", "reported_by"]) {
    const slider = $(`#${name}_slider`);
    slider.max = days;
    slider.value = state[name]
      ? Math.round((Date.parse(`${state[name]}T00:00:00Z`) - first) / DAY) : days;
  }
}

// One pending action per purpose: a live update must not cancel a slider's pending move.
const pending = {};
function later(purpose, action, delay = 250) {
  clearTimeout(pending[purpose]);
  pending[purpose] = setTimeout(action, delay);
}

function setAxis(name, value) {
  if (state[name] === value) return;
  state[name] = value;
  writeUrl();
  showState();
  refresh();
}

function wireControls() {
  for (const name of ["as_of", "reported_by"]) {
    const input = $(`#${name}`);
    input.addEventListener("change", () => setAxis(name, input.value));
    const slider = $(`#${name}_slider`);
    slider.addEventListener("input", () => {
      const { first, days } = sliderBounds();
      const value = Number(slider.value) >= days ? "" : isoDay(first + Number(slider.value) * DAY);
      input.value = value;
      later(name, () => setAxis(name, value));
    });
  }
  const knownAt = $("#known_at");
  knownAt.addEventListener("change", () => setAxis("known_at", knownAt.value.trim()));
  for (const button of document.querySelectorAll("[data-clear]")) {
    button.addEventListener("click", () => setAxis(button.dataset.clear, ""));
  }
  for (const name of FILTERS) {
    $(`#filter-${name}`).addEventListener("change", (event) => {
      state[name] = event.target.value;
      writeUrl();
      refresh();
    });
  }
  for (const box of datasetBoxes()) box.addEventListener("change", chooseDatasets);
  $("#controls").addEventListener("submit", (event) => event.preventDefault());
  $("#play").addEventListener("click", () => (page.playing ? stop() : play()));
  $("#verify").addEventListener("click", verify);
  for (const list of ["developments", "relationships"]) {
    $(`#${list}-more`).addEventListener("click", () => showMore(list));
  }
  window.addEventListener("popstate", () => {
    readUrl();
    showState();
    refresh();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && (state.pair || state.development)) select({});
  });
}

function datasetBoxes() {
  return document.querySelectorAll("#datasets input[data-dataset]");
}

// The datasets ticked: all of them is every dataset (no `dataset` in the URL), none is refused.
function chooseDatasets(event) {
  const boxes = [...datasetBoxes()];
  const ticked = boxes.filter((box) => box.checked).map((box) => box.value);
  if (!ticked.length) {
    event.target.checked = true;
    say("Keep at least one dataset.", true);
    return;
  }
  state.dataset = ticked.length === boxes.length ? "" : ticked.join(",");
  writeUrl();
  refresh();
}

// --- loading and drawing ------------------------------------------------------------------

async function refresh() {
  // One refresh at a time; a change meanwhile asks for one more after it.
  if (page.refreshing) {
    page.again = true;
    return page.refreshing;
  }
  page.refreshing = (async () => {
    do {
      page.again = false;
      try {
        await load();
        say(describeAxes());
      } catch (error) {
        say(error.message, true);
      }
    } while (page.again);
    page.refreshing = null;
  })();
  return page.refreshing;
}

function describeAxes() {
  const parts = [];
  if (state.as_of) parts.push(`the world as of ${state.as_of}`);
  else parts.push("the world today");
  if (state.reported_by) parts.push(`as reported by ${state.reported_by}`);
  if (state.known_at) parts.push(`as this store knew it at ${state.known_at}`);
  if (state.dataset) parts.push(`from ${state.dataset.split(",").join(", ")} only`);
  return `Showing ${parts.join(", ")}.`;
}

async function load() {
  const filters = { actor: state.actor, kind: state.kind, certainty: state.certainty };
  const [listed, paired] = await Promise.all([
    first("/developments", "developments", { ...reading(), ...datasets(), ...filters },
      page.wanted.developments),
    first("/relationships", "relationships", { ...reading(), ...datasets() },
      page.wanted.relationships),
  ]);
  const developments = listed.items;
  const relationships = paired.items;
  page.more = { developments: listed.more, relationships: paired.more };
  const shown = developments.filter((d) => !state.source
    || d.sources.some((source) => source.publication === state.source));
  page.developments = new Map(developments.map((d) => [d.id, d]));
  page.relationships = relationships;
  if (page.earliest == null && developments.length) {
    page.earliest = Math.min(...developments.map((d) => period(d.date.value).start));
    syncSliders();
  }
  drawTimeline(shown);
  drawList(shown);
  drawSourceFilter(developments);
  await page.actorsLoaded;
  drawMap(relationships);
  drawPairs(relationships);
  await Promise.all([showSelection(), showHead()]);
}

// How many items a list shows, and a button for more when the store holds more.
function showCount(list, shown) {
  const more = page.more[list];
  $(`#${list}-count`).textContent = more ? `(the first ${shown}; more in the store)`
    : `(${shown})`;
  const button = $(`#${list}-more`);
  button.hidden = !more;
  button.disabled = false;
}

// Shows SHOWN more items of a list.
function showMore(list) {
  page.wanted[list] += SHOWN;
  $(`#${list}-more`).disabled = true;
  refresh();
}

function itemOf(development) {
  const { start, end, precision } = period(development.date.value);
  const family = VOCABULARY.kinds[development.kind]?.family || "statement";
  const classes = [`family-${family}`, `precision-${precision}`, `status-${development.status}`,
    `dataset-${development.dataset}`];
  if (development.date.approximate) classes.push("approximate");
  if (development.standing) classes.push(`standing-${development.standing}`);
  if (development.retracted) classes.push("retracted");
  if (page.seen.size && !page.seen.has(development.id)) classes.push("new");
  let until = end;
  if (development.status === "ongoing") {
    // Drawn up to the day it ended, else up to the date the page shows.
    const ended = dateValue(development.ended);
    until = ended ? period(ended).end
      : Math.max(end, state.as_of ? Date.parse(`${state.as_of}T00:00:00Z`) + DAY : Date.now());
  }
  const item = {
    id: development.id, start, className: classes.join(" "), development,
    title: `${development.date.value}${development.date.approximate ? " (approximate)" : ""} · `
      + `${kindLabel(development.kind)} · ${development.status} · ${development.dataset} — `
      + development.summary,
  };
  if (precision === "day" && development.status !== "ongoing") item.type = "box";
  else Object.assign(item, { type: "range", end: until });
  return item;
}

function drawTimeline(developments) {
  const items = developments.map(itemOf);
  if (!page.timeline) {
    page.items = new vis.DataSet(items);
    page.timeline = new vis.Timeline($("#timeline"), page.items, {
      stack: true, orientation: "top", zoomKey: "ctrlKey", maxHeight: 340, verticalScroll: true,
      margin: { item: 4 },
      showTooltips: true, tooltip: { followMouse: false, overflowMethod: "cap" },
      // An element, not HTML text: vis keeps its attributes (its HTML filter would drop them).
      template: (item) => {
        if (!item?.development) return "";
        const summary = item.development.summary;
        return h("span", { class: "item", tabindex: 0, role: "button",
          "data-development-id": item.id, "data-dataset": item.development.dataset },
        summary.length > 70 ? `${summary.slice(0, 67)}…` : summary);
      },
    });
    page.timeline.on("select", ({ items: chosen }) => {
      if (chosen.length) select({ development: chosen[0] }, true);
    });
    $("#timeline").addEventListener("keydown", (event) => {
      const target = event.target.closest("[data-development-id]");
      if (target && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        select({ development: target.dataset.developmentId }, true);
      }
    });
  } else {
    const keep = new Set(items.map((item) => item.id));
    page.items.remove(page.items.getIds().filter((id) => !keep.has(id)));
    page.items.update(items);
  }
  if (items.length && !page.fitted) {
    page.timeline.fit({ animation: false });
    page.fitted = true;
  }
  page.timeline.setSelection(state.development ? [state.development] : []);
  showCount("developments", items.length);
  for (const item of items) page.seen.add(item.id);
}

function drawList(developments) {
  const list = $("#development-list");
  list.replaceChildren(...developments.map((d) => h("li", {},
    h("button", { type: "button", "data-development-id": d.id, "data-dataset": d.dataset,
      class: `family-${VOCABULARY.kinds[d.kind]?.family}`,
      onclick: () => select({ development: d.id }, true) },
    h("span", { class: "date" }, d.date.value), " ", d.summary))));
}

function drawSourceFilter(developments) {
  const publications = new Set([state.source].filter(Boolean));
  for (const d of developments) for (const source of d.sources) publications.add(source.publication);
  const select = $("#filter-source");
  select.replaceChildren(h("option", { value: "" }, "any"),
    ...[...publications].sort().map((p) => h("option", { value: p }, p)));
  select.value = state.source;
}

function parentOf(actor) {
  // People, ministries and companies are drawn inside the state they belong to.
  return actor.belongs_to.find((id) => page.actors.get(id)?.kind === "state") || null;
}

function drawMap(relationships) {
  const edges = relationships.map((r) => ({ group: "edges", data: {
    id: r.pair.join(","), source: r.pair[0], target: r.pair[1], stance: r.stance,
    weight: Math.abs(r.score), colour: STANCE_COLOURS[r.stance] || "#999",
  } }));
  if (!page.map) {
    const actors = [...page.actors.values()];
    const nodes = actors.map((actor) => ({ group: "nodes", data: {
      id: actor.id, label: actor.name, kind: actor.kind } }));
    // A dotted edge from each member to its state pulls them together in the layout.
    const members = actors.filter(parentOf).map((actor) => ({ group: "edges", classes: "member",
      data: { id: `member:${actor.id}`, source: actor.id, target: parentOf(actor) } }));
    page.map = cytoscape({
      container: $("#map"), elements: [...nodes, ...members, ...edges],
      style: [
        { selector: "node[label]", style: {
          label: "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
          "background-color": "#4c6ef5", width: 16, height: 16, "text-wrap": "wrap",
          "text-max-width": 90, "text-background-color": "#fff", "text-background-opacity": 0.8,
          "text-background-padding": 1 } },
        ...Object.entries(SHAPES).map(([kind, shape]) => ({
          selector: `node[kind = "${kind}"]`, style: { shape } })),
        { selector: "node[kind = \"person\"]", style: { "background-color": "#ae3ec9" } },
        { selector: "node.group", style: {
          "background-opacity": 0.06, "background-color": "#4c6ef5", "border-color": "#bac8ff",
          shape: "round-rectangle", padding: 8 } },
        { selector: "edge", style: {
          "line-color": "data(colour)", width: "mapData(weight, 0, 10, 1.5, 10)",
          "curve-style": "bezier", opacity: 0.85 } },
        { selector: "edge.member", style: {
          "line-color": "#ced4da", width: 1, "line-style": "dotted" } },
        { selector: "edge.chosen", style: {
          opacity: 1, "underlay-color": "#ffd43b", "underlay-opacity": 0.7,
          "underlay-padding": 4 } },
      ],
      // Laid out flat, then boxed: cose spreads compound nodes with edges far apart.
      layout: { name: "cose", animate: false, padding: 10, nodeRepulsion: () => 6000,
        idealEdgeLength: (edge) => (edge.hasClass("member") ? 10 : 60),
        edgeElasticity: (edge) => (edge.hasClass("member") ? 300 : 60) },
    });
    // People, ministries and companies drawn in a box with the state they belong to.
    page.map.batch(() => {
      for (const home of new Set(actors.map(parentOf).filter(Boolean))) {
        const box = page.map.add({ group: "nodes", classes: "group", data: { id: `group:${home}` } });
        page.map.getElementById(home).move({ parent: box.id() });
        for (const actor of actors) {
          if (parentOf(actor) === home) page.map.getElementById(actor.id).move({ parent: box.id() });
        }
      }
    });
    page.map.fit(undefined, 10);
    page.map.on("tap", "edge", (event) => select({ pair: event.target.id() }, true));
    page.map.on("tap", "node[kind]", (event) => {
      state.actor = event.target.id();
      $("#filter-actor").value = state.actor;
      writeUrl();
      refresh();
    });
  } else {
    page.map.batch(() => {
      page.map.edges().not(".member").remove();
      page.map.add(edges);
    });
  }
  markChosenPair();
  showCount("relationships", relationships.length);
}

function markChosenPair() {
  page.map?.edges().removeClass("chosen");
  if (state.pair) page.map?.getElementById(state.pair).addClass("chosen");
  for (const button of document.querySelectorAll("#pair-list [data-pair]")) {
    if (button.dataset.pair === state.pair) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

function drawPairs(relationships) {
  const ordered = [...relationships].sort((a, b) => Math.abs(b.score) - Math.abs(a.score));
  $("#pair-list").replaceChildren(...ordered.map((r) => h("li", {},
    h("button", { type: "button", "data-pair": r.pair.join(","),
      "aria-current": state.pair === r.pair.join(",") ? "true" : null,
      onclick: () => select({ pair: r.pair.join(",") }, true) },
    h("span", { class: "stance", style: `background:${STANCE_COLOURS[r.stance]}` }, r.stance),
    ` ${actorName(r.pair[0])} – ${actorName(r.pair[1])} `,
    h("span", { class: "score" }, r.score.toFixed(2)),
    // From the pair's outline: how much evidence is behind the score.
    h("span", { class: "count" }, ` · ${plural(r.counts.developments, "development")}`)))));
}

// --- details --------------------------------------------------------------------------

async function select({ pair = "", development = "" }, focus = false) {
  state.pair = pair;
  state.development = development;
  writeUrl();
  markChosenPair();
  page.timeline?.setSelection(development ? [development] : []);
  try {
    await showSelection();
  } catch (error) {
    say(error.message, true);
  }
  if (focus) $("#details").focus();
}

async function showSelection() {
  const body = $("#details-body");
  if (state.pair) {
    body.replaceChildren(await pairDetails(state.pair));
  } else if (state.development) {
    body.replaceChildren(await developmentDetails(state.development));
  } else {
    body.replaceChildren(h("p", { class: "hint" }, "Choose a development or a pair."));
  }
  await showRawEvents();
}

async function pairDetails(pair) {
  const [a, b] = pair.split(",");
  const found = await api(`/relationships/${encodeURIComponent(a)}/${encodeURIComponent(b)}`,
    { ...reading(), ...datasets() });
  // Each shown in full needs its document: the first BEHIND, the rest in the table above.
  const known = await Promise.all(found.developments.slice(0, BEHIND)
    .map((d) => fullDevelopment(d.id)));
  const untold = found.developments.length - known.length;
  return h("article", { "data-pair": pair },
    h("h3", {}, `${actorName(a)} – ${actorName(b)}`),
    h("p", {}, h("span", { class: "stance", style: `background:${STANCE_COLOURS[found.stance]}` },
      found.stance), ` score ${found.score.toFixed(2)}`),
    h("h4", {}, "Score: each development's contribution"),
    h("table", { class: "contributions" },
      h("thead", {}, h("tr", {}, h("th", {}, "date"), h("th", {}, "development"),
        h("th", {}, "contribution"))),
      h("tbody", {}, found.developments.map((d) => h("tr", {},
        h("td", {}, d.date), h("td", {}, developmentLink(d.id, d.summary)),
        h("td", { class: "number" }, d.contribution.toFixed(2)))))),
    h("h4", {}, "Ties"),
    found.ties.length ? h("ul", { class: "ties" }, found.ties.map((tie) => h("li", {},
      h("strong", {}, tie.kind.replaceAll("_", " ")), " ",
      tie.mutual ? `${actorName(tie.from)} ↔ ${actorName(tie.to)}`
        : `${actorName(tie.from)} → ${actorName(tie.to)}`,
      `, since ${tie.since}`, tie.until ? ` until ${tie.until}` : "",
      tie.active ? "" : " (closed)",
      tie.items.length ? h("span", { class: "items" }, `: ${tie.items.join(", ")}`) : "")))
      : h("p", { class: "hint" }, "No ties."),
    expectations("Expected", found.expected),
    expectations("Possible", found.possible),
    h("h4", {}, "The developments behind it"),
    h("ol", { class: "behind" }, known.map((d) => h("li", {}, developmentSummary(d)))),
    untold > 0 ? h("p", { class: "hint untold" }, `and ${untold} more, each in the table above`)
      : null);
}

function expectations(title, developments) {
  if (!developments.length) return null;
  return h("section", { class: title.toLowerCase() }, h("h4", {}, title),
    h("ul", {}, developments.map((d) => h("li", {},
      developmentLink(d.id, d.summary), ` (${kindLabel(d.kind)}, planned for `
      + `${d.planned_for || d.date})`))));
}

async function fullDevelopment(id) {
  return page.developments.get(id)
    || api(`/developments/${encodeURIComponent(id)}`, reading());
}

function developmentLink(id, text) {
  return h("button", { type: "button", class: "link", "data-development-id": id,
    onclick: () => select({ development: id }, true) }, text);
}

function developmentSummary(d) {
  return h("div", { class: "development" },
    h("p", {}, h("span", { class: "date" }, d.date.value), " ", developmentLink(d.id, d.summary)),
    d.items?.length ? h("p", { class: "items" }, `Items: ${d.items.join(", ")}`) : null,
    sources(d.sources));
}

function sources(list) {
  return h("ul", { class: "sources" }, list.map((source) => h("li", {},
    h("cite", {}, source.publication), ` — ${source.attribution}`,
    source.reported_on ? `, reported ${dateValue(source.reported_on)}` : "",
    source.url ? [" ", h("a", { href: source.url, rel: "noreferrer" }, "link")] : null,
    source.passage ? h("blockquote", {}, source.passage) : null)));
}

async function developmentDetails(id) {
  const d = await api(`/developments/${encodeURIComponent(id)}`, reading());
  const family = VOCABULARY.kinds[d.kind]?.family;
  return h("article", { "data-development-id": d.id, "data-dataset": d.dataset },
    h("h3", {}, d.summary),
    h("dl", { class: "facts" },
      fact("Kind", h("span", { class: `family-${family}` }, kindLabel(d.kind))),
      fact("Date", `${d.date.value}${d.date.approximate ? " (approximate)" : ""}`
        + (d.date.derivation ? ` — ${d.date.derivation}` : "")),
      fact("Status", d.status + (d.standing ? ` (${d.standing})` : "")
        + (d.retracted ? ", retracted" : "")),
      fact("Certainty", d.certainty),
      fact("Actors", d.actors.map((p) => `${actorName(p.actor)} (${p.role})`).join(", ")),
      d.place ? fact("Place", d.place) : null,
      d.items.length ? fact("Items", d.items.join(", ")) : null,
      d.quote ? fact("Quote", h("q", {}, d.quote)) : null,
      fact("Dataset", h("span", { class: "dataset" }, d.dataset))),
    provenance(d),
    h("h4", {}, "Sources"), sources(d.sources),
    h("h4", {}, `Versions (${d.history.length})`),
    h("ol", { class: "versions" }, versions(d.history)));
}

// The dataset record an ingested development came from; seed and manual data have none.
function provenance(d) {
  const record = d.provenance;
  if (!record) {
    return h("p", { class: "provenance hint", "data-provenance": "none" },
      `No provenance: ${d.dataset === "manual" ? "recorded by hand" : "sourced seed data"}, `
      + "not ingested from a dataset.");
  }
  const coding = Object.entries(record.coding || {});
  return h("section", { class: "provenance", "data-provenance": record.dataset,
    "data-record-id": record.record_id },
  h("h4", {}, "Provenance"),
  h("dl", { class: "facts" },
    fact("Record", h("code", { "data-field": "record_id" }, record.record_id)),
    fact("File", h("code", { "data-field": "file" }, record.file)),
    fact("Line", h("span", { "data-field": "line" }, String(record.line)))),
  coding.length ? h("table", { class: "coding" },
    h("caption", {}, `${record.dataset}'s own coding`),
    h("tbody", {}, coding.map(([name, value]) => h("tr", { "data-coding": name },
      h("th", { scope: "row" }, name), h("td", {}, value))))) : null);
}

// Each version, with what it changed: a field's earlier value beside its new one.
function versions(history) {
  const fields = {};
  return history.map((entry) => {
    const changed = Object.entries(entry.changes || {}).map(([field, value]) => {
      const before = fields[field];
      fields[field] = value;
      if (entry.type === "recorded") {
        return ["summary", "date", "place", "status"].includes(field)
          ? h("li", {}, h("code", {}, field), ": ", describe(value)) : null;
      }
      return h("li", {}, h("code", {}, field), ": ",
        before === undefined ? "" : [h("del", {}, describe(before)), " → "],
        h("ins", {}, describe(value)));
    });
    return version(entry, changed);
  });
}

function fact(name, value) {
  return [h("dt", {}, name), h("dd", {}, value)];
}

function version(entry, changes) {
  return h("li", { class: `version ${entry.type}`, "data-version": entry.version },
    h("p", {}, h("strong", {}, `Version ${entry.version}: ${entry.type.replaceAll("_", " ")}`),
      entry.status ? ` (${entry.status})` : "",
      ` — recorded ${entry.recorded_at ? entry.recorded_at.slice(0, 19).replace("T", " ") : "?"}`
      + ` by ${entry.recorded_by || "unknown"}`,
      entry.reported_from ? `, reported from ${entry.reported_from}` : ""),
    entry.reason ? h("p", { class: "reason" }, "Why: ", entry.reason) : null,
    h("ul", { class: "changes" }, changes),
    entry.source ? sources([entry.source]) : null);
}

function describe(value) {
  if (value == null) return "none";
  if (typeof value !== "object") return String(value);
  if (value.value) return `${value.value}${value.approximate ? " (approximate)" : ""}`;
  if (Array.isArray(value)) {
    return value.map((v) => (v.actor ? `${actorName(v.actor)} (${v.role})` : describe(v)))
      .join(", ");
  }
  return JSON.stringify(value);
}

// --- for auditors ---------------------------------------------------------------------

async function showHead() {
  try {
    const [head, checkpoint] = await Promise.all([
      api("/audit/head"), api("/audit/checkpoint", {}, "text/plain")]);
    $("#audit-head").replaceChildren(...fact("Head position", String(head.position)),
      ...fact("Head hash", h("code", {}, head.hash)),
      ...fact("Recorded at", head.recorded_at || "—"));
    $("#checkpoint").textContent = checkpoint;
  } catch (error) {
    $("#audit-head").replaceChildren(...fact("Head", error.message));
  }
}

async function verify() {
  const result = $("#verify-result");
  result.textContent = "Verifying…";
  result.className = "";
  try {
    const found = await api("/audit/verify");
    result.textContent = `Chain intact: ${found.checked} events verified, head at position `
      + `${found.head?.position ?? 0}.`;
    result.className = "intact";
  } catch (error) {
    result.textContent = `Not intact: ${error.message}`;
    result.className = "broken";
  }
}

async function showRawEvents() {
  const box = $("#raw-events");
  if (!state.development) {
    box.replaceChildren(h("p", { class: "hint" }, "Choose a development."));
    return;
  }
  try {
    const { events } = await api(`/streams/${encodeURIComponent(state.development)}`);
    box.replaceChildren(h("ol", { class: "raw" }, events.map((event) => h("li", {},
      h("details", {}, h("summary", {},
        `#${event.position} ${event.type} v${event.stream_version} · `,
        h("code", { title: event.hash }, (event.hash || "").slice(0, 12))),
      h("pre", {}, JSON.stringify(event, null, 2)))))));
  } catch (error) {
    box.replaceChildren(h("p", { class: "error" }, error.message));
  }
}

// --- play the news ---------------------------------------------------------------------

async function play() {
  writeUrl();
  history.pushState(null, "", location.href); // Back returns to where the replay started
  page.playing = true;
  const button = $("#play");
  button.setAttribute("aria-pressed", "true");
  button.textContent = "❚❚ Pause";
  try {
    const replay = { order: "reported", ...datasets(),
      ...(state.known_at ? { known_at: state.known_at } : {}) };
    // On from the date shown; from the first report again when nothing came after it.
    const played = await playFrom(state.reported_by
      ? { ...replay, from: dayAfter(state.reported_by) } : replay);
    if (!played && state.reported_by && page.playing) await playFrom(replay);
  } catch (error) {
    say(error.message, true);
  }
  stop();
}

// Plays the replay a date at a time as its pages arrive (never the whole replay at once);
// how many dates it played.
async function playFrom(params) {
  let played = 0;
  let waiting = []; // the steps of the last date read: the next page may hold more of them
  for await (const { steps } of pages("/replay", params)) {
    if (!page.playing) break;
    waiting.push(...steps);
    const last = waiting.length ? waiting[waiting.length - 1].date : null;
    played += await playDates(waiting.filter((step) => step.date !== last));
    waiting = waiting.filter((step) => step.date === last);
  }
  if (page.playing) played += await playDates(waiting);
  return played;
}

async function playDates(steps) {
  let played = 0;
  for (const date of [...new Set(steps.map((step) => step.date))]) {
    if (!page.playing) break;
    state.reported_by = date;
    writeUrl();
    showState();
    await refresh();
    const news = steps.filter((step) => step.date === date).map((step) =>
      `${step.development.summary} (${actorName(step.pair[0])} – ${actorName(step.pair[1])}:`
      + ` ${step.stance.from} → ${step.stance.to})`);
    say(`Reported by ${date}: ${[...new Set(news)].join(" · ")}`);
    played += 1;
    await new Promise((resolve) => setTimeout(resolve, 1200));
  }
  return played;
}

function dayAfter(day) {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
}

function stop() {
  page.playing = false;
  const button = $("#play");
  button.setAttribute("aria-pressed", "false");
  button.textContent = "▶ Play the news";
}

// --- live -----------------------------------------------------------------------------

async function follow() {
  const live = $("#live");
  // Ask first: without a feed (an older server, a proxy that drops streams) the page works
  // as before, with no live updates and no failed EventSource retrying forever.
  let answer;
  try {
    answer = await fetch(`${API}/events/stream`, { method: "HEAD" });
  } catch (_) {
    answer = null;
  }
  if (!answer?.ok || !answer.headers.get("Content-Type")?.startsWith("text/event-stream")) {
    live.textContent = "live updates unavailable: reload to see changes";
    live.className = "live off";
    return;
  }
  const source = new EventSource(`${API}/events/stream${query({ after: page.viewed || null })}`);
  source.addEventListener("open", () => {
    live.textContent = "live";
    live.className = "live on";
  });
  source.addEventListener("error", () => {
    live.textContent = "live: reconnecting";
    live.className = "live off";
  });
  const changed = (event) => {
    page.position = Math.max(page.position, Number(event.lastEventId) || 0);
    if (event.type.startsWith("Actor.")) page.reloadActors = true;
    later("live", async () => {
      if (page.reloadActors) {
        page.reloadActors = false;
        await loadActors();
        page.map?.destroy();
        page.map = null;
      }
      refresh();
    }, 100);
  };
  for (const type of VOCABULARY.event_types) source.addEventListener(type, changed);
}

// --- start ----------------------------------------------------------------------------

async function loadActors() {
  const { actors } = await api("/actors");
  page.actors = new Map(actors.map((actor) => [actor.id, actor]));
  const select = $("#filter-actor");
  select.replaceChildren(h("option", { value: "" }, "any"), ...actors
    .slice().sort((a, b) => a.name.localeCompare(b.name))
    .map((actor) => h("option", { value: actor.id }, `${actor.name} (${actor.kind})`)));
  select.value = state.actor;
}

async function start() {
  for (const kind of Object.keys(VOCABULARY.kinds).sort()) {
    $("#filter-kind").append(h("option", { value: kind }, kindLabel(kind)));
  }
  for (const certainty of VOCABULARY.certainties) {
    $("#filter-certainty").append(h("option", { value: certainty }, certainty));
  }
  readUrl();
  wireControls();
  showState();
  // The actors are needed for the map only: the timeline is drawn without waiting for them.
  page.actorsLoaded = loadActors();
  await refresh();
  follow();
}

start();
