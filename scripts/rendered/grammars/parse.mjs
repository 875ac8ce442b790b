// Parse PromQL and LogQL with the official lezer grammars: Prometheus's @prometheus-io/lezer-promql and
// Loki's @grafana/lezer-logql. Used by scripts/rendered/parser.py; one node process parses every query.
//
// stdin:  JSON array of {"lang": "promql" | "logql", "expr": "<query>"}
// stdout: JSON array, one object per query, in order. Offsets are UTF-16 code units into "expr".
//   both:   {"errors": [{"from", "to", "near"}]}
//   logql:  "selectors": [{"from", "to", "labels": ["app", ...]}]           (stream selectors)
//   promql: "selectors": [{"metric", "from", "to", "labels": [...], "range": [from, to] | null,
//                          "func": "<function whose argument is this range selector>" | null}]
//           "calls":     [{"name", "from", "to", "args": [[from, to], ...]}]
//           "groupings": [{"kind": "by"|"without"|"on"|"ignoring"|null, "labels": [...], "op": "sum"|null,
//                          "from", "to", "parent": "AggregateExpr"|"BinaryExpr"}]  (from/to span the parent)
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

function logqlFacts(expr) {
  const tree = logqlParser.parse(expr);
  const selectors = [];
  tree.iterate({
    enter(ref) {
      if (ref.name !== "Selector") return true;
      const labels = [];
      ref.node.cursor().iterate((inner) => {
        if (inner.name === "Identifier" && inner.node.parent?.name === "Matcher") labels.push(text(inner, expr));
      });
      selectors.push({ from: ref.from, to: ref.to, labels });
      return false;
    },
  });
  return { errors: errorsOf(tree, expr), selectors };
}

function selectorFacts(node, expr) {
  const identifier = node.getChild("Identifier");
  const labels = [];
  let metric = identifier ? text(identifier, expr) : null;
  for (const matcher of node.getChild("LabelMatchers")?.getChildren("LabelMatcher") ?? []) {
    const name = text(matcher.getChild("LabelName"), expr);
    const value = matcher.getChild("StringLiteral");
    // {__name__="x"} names the metric like x{} does.
    if (name === "__name__" && value) metric = JSON.parse(text(value, expr).replace(/^'|'$/g, '"'));
    else labels.push(name);
  }
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
  return { metric, from: node.from, to: node.to, labels, range, func };
}

function groupingOf(node, expr) {
  if (!node) return { kind: null, labels: [] };
  const kindNode = childrenOf(node).find((c) => ["By", "Without", "On", "Ignoring"].includes(c.name));
  const labels = (node.getChild("GroupingLabels")?.getChildren("LabelName") ?? []).map((l) => text(l, expr));
  return { kind: kindNode ? kindNode.name.toLowerCase() : null, labels };
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
        const modifier = node.getChild("AggregateModifier");
        groupings.push({ ...groupingOf(modifier, expr), op: text(node.getChild("AggregateOp"), expr),
          from: node.from, to: node.to, parent: "AggregateExpr" });
      }
      if (ref.name === "MatchingModifierClause") {
        const parent = node.parent;
        groupings.push({ ...groupingOf(node, expr), op: null, from: parent.from, to: parent.to, parent: parent.name });
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
