// Parse PromQL and LogQL with the official lezer grammars: Prometheus's @prometheus-io/lezer-promql and
// Loki's @grafana/lezer-logql. Used by scripts/rendered/parser.py; one node process parses every query.
//
// stdin:  JSON array of {"lang": "promql" | "logql", "expr": "<query>"}
// stdout: JSON array, one object per query, in order. Offsets are UTF-16 code units into "expr".
//   both:   {"errors": [{"from", "to", "near"}]}
//   logql:  "selectors": [{"from", "to", "labels": ["app", ...], "matchers": [...]}]  (stream selectors)
//   promql: "selectors": [{"metric", "from", "to", "labels": [...], "matchers": [...], "range": [from, to] | null,
//                          "func": "<function whose argument is this range selector>" | null}]
//           "calls":     [{"name", "from", "to", "args": [[from, to], ...]}]
//           "groupings": [{"kind": "by"|"without"|"on"|"ignoring"|"group_left"|"group_right"|null,
//                          "labels": [...], "op": "sum"|null, "from", "to",
//                          "parent": "AggregateExpr"|"BinaryExpr"}]  (from/to span the parent; one per clause)
//   a matcher: {"label", "op": "="|"!="|"=~"|"!~", "value": "<decoded string>" | null, "from", "to"}
//              (from/to span the quoted value; value is null when its escapes are beyond JSON's)
import { parser as logqlParser } from "@grafana/lezer-logql";
import { parser as promqlParser } from "@prometheus-io/lezer-promql";

function errorsOf(tree, expr) {
  const errors = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        const to = Math.max(node.to, node.from + 1);
        errors.push({ from: node.from, to, near: expr.slice(node.from, Math.min(node.from + 20, expr.length)) });
      }
    },
  });
  return errors;
}

function text(node, expr) {
  return expr.slice(node.from, node.to);
}

function childrenOf(node) {
  const out = [];
  for (let child = node.firstChild; child; child = child.nextSibling) out.push(child);
  return out;
}

// A PromQL/LogQL string literal's value: "..." and '...' with Go escapes (the JSON subset of them is
// decoded, anything else gives null so no check guesses), `...` raw.
function stringValue(node, expr) {
  const literal = text(node, expr);
  const body = literal.slice(1, -1);
  if (literal.startsWith("`")) return body;
  const quoted = literal.startsWith("'") ? body.replace(/\\'/g, "'").replace(/(^|[^\\])"/g, '$1\\"') : body;
  try {
    return JSON.parse(`"${quoted}"`);
  } catch {
    return null;
  }
}

function matcherFacts(label, op, value, expr) {
  return { label, op: text(op, expr), value: stringValue(value, expr), from: value.from, to: value.to };
}

function logqlFacts(expr) {
  const tree = logqlParser.parse(expr);
  const selectors = [];
  tree.iterate({
    enter(ref) {
      if (ref.name !== "Selector") return true;
      const matchers = [];
      ref.node.cursor().iterate((inner) => {
        if (inner.name !== "Matcher") return true;
        const [name, op, value] = childrenOf(inner.node);
        if (name?.name === "Identifier" && value?.name === "String") {
          matchers.push(matcherFacts(text(name, expr), op, value, expr));
        }
        return false;
      });
      selectors.push({ from: ref.from, to: ref.to, labels: matchers.map((m) => m.label), matchers });
      return false;
    },
  });
  return { errors: errorsOf(tree, expr), selectors };
}

function selectorFacts(node, expr) {
  const identifier = node.getChild("Identifier");
  const matchers = [];
  let metric = identifier ? text(identifier, expr) : null;
  for (const matcher of node.getChild("LabelMatchers")?.getChildren("LabelMatcher") ?? []) {
    const name = text(matcher.getChild("LabelName"), expr);
    const op = matcher.getChild("MatchOp");
    const value = matcher.getChild("StringLiteral");
    if (!op || !value) continue;
    // {__name__="x"} names the metric like x{} does.
    if (name === "__name__") metric = stringValue(value, expr);
    else matchers.push(matcherFacts(name, op, value, expr));
  }
  const labels = matchers.map((m) => m.label);
  const parent = node.parent;
  let range = null;
  let func = null;
  if (parent?.name === "MatrixSelector") {
    const duration = parent.getChild("Duration");
    range = duration ? [duration.from, duration.to] : null;
    const call = parent.parent?.parent;
    if (parent.parent?.name === "FunctionCallBody" && call?.name === "FunctionCall") {
      func = text(call.getChild("FunctionIdentifier"), expr);
    }
  }
  return { metric, from: node.from, to: node.to, labels, matchers, range, func };
}

const CLAUSES = { By: "by", Without: "without", On: "on", Ignoring: "ignoring", GroupLeft: "group_left",
  GroupRight: "group_right" };

// Each clause keyword of a modifier with the labels in the parentheses after it (`group_left` may have none):
// `on(a) group_left(b)` is two clauses.
function clausesOf(node, expr) {
  const clauses = [];
  for (const child of node ? childrenOf(node) : []) {
    if (child.name in CLAUSES) clauses.push({ kind: CLAUSES[child.name], labels: [] });
    else if (child.name === "GroupingLabels" && clauses.length) {
      clauses.at(-1).labels = child.getChildren("LabelName").map((l) => text(l, expr));
    }
  }
  return clauses;
}

function promqlFacts(expr) {
  const tree = promqlParser.parse(expr);
  const selectors = [];
  const calls = [];
  const groupings = [];
  tree.iterate({
    enter(ref) {
      const node = ref.node;
      if (ref.name === "VectorSelector") selectors.push(selectorFacts(node, expr));
      if (ref.name === "FunctionCall") {
        const body = node.getChild("FunctionCallBody");
        const args = body ? childrenOf(body).filter((c) => !c.type.isError).map((c) => [c.from, c.to]) : [];
        calls.push({ name: text(node.getChild("FunctionIdentifier"), expr), from: node.from, to: node.to, args });
      }
      if (ref.name === "AggregateExpr") {
        // Every aggregation, with or without a by/without clause (sum(x) drops every label, `le` included).
        const [clause = { kind: null, labels: [] }] = clausesOf(node.getChild("AggregateModifier"), expr);
        groupings.push({ ...clause, op: text(node.getChild("AggregateOp"), expr),
          from: node.from, to: node.to, parent: "AggregateExpr" });
      }
      if (ref.name === "MatchingModifierClause") {
        const parent = node.parent;
        for (const clause of clausesOf(node, expr)) {
          groupings.push({ ...clause, op: null, from: parent.from, to: parent.to, parent: parent.name });
        }
      }
      return true;
    },
  });
  return { errors: errorsOf(tree, expr), selectors, calls, groupings };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const queries = JSON.parse(input);
  const facts = queries.map((q) => (q.lang === "logql" ? logqlFacts(q.expr) : promqlFacts(q.expr)));
  process.stdout.write(JSON.stringify(facts));
});
