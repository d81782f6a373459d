// Shows a question only while the answers satisfy its visibleIf schema (the server applies the same rule).
(function () {
  var form = document.currentScript.closest("main").querySelector("form");
  function answers() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (name.charAt(0) === "_" || value === "") return;
      var input = form.querySelector('[name="' + name + '"]');
      var v = value;
      if (input && (input.type === "number" || input.type === "radio") && /^-?\d+(\.\d+)?$/.test(value)) v = Number(value);
      if (input && input.type === "checkbox" && value !== "on") { (out[name] = out[name] || []).push(v); return; }
      if (input && input.type === "checkbox") v = true;
      out[name] = v;
    });
    // A matrix posts `question.row`; conditions see it as {"question": {"row": …}}, as the server does.
    Object.keys(out).forEach(function (key) {
      var dot = key.indexOf(".");
      if (dot < 1 || key.charAt(0) === "_") return;
      var group = key.slice(0, dot);
      if (typeof out[group] !== "object" || out[group] === null) out[group] = {};
      out[group][key.slice(dot + 1)] = out[key];
      delete out[key];
    });
    return out;
  }
  function typeOf(v) {
    if (Array.isArray(v)) return "array";
    if (v === null) return "null";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v;
  }
  function matches(s, v) {
    if (s === true || s === undefined) return true;
    if (s === false) return false;
    if (s.type) { var t = typeOf(v), types = [].concat(s.type);
      if (types.indexOf(t) < 0 && !(t === "integer" && types.indexOf("number") >= 0)) return false; }
    if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(v)) return false;
    if (s.enum && !s.enum.some(function (e) { return JSON.stringify(e) === JSON.stringify(v); })) return false;
    if (typeof v === "number") {
      if (s.minimum !== undefined && v < s.minimum) return false;
      if (s.maximum !== undefined && v > s.maximum) return false;
      if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) return false;
      if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) return false;
    }
    if (typeof v === "string") {
      if (s.minLength !== undefined && v.length < s.minLength) return false;
      if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(v)) return false;
    }
    if (Array.isArray(v) && s.contains && !v.some(function (x) { return matches(s.contains, x); })) return false;
    if (s.required && (typeOf(v) !== "object" || s.required.some(function (k) { return !(k in v); }))) return false;
    if (s.properties && typeOf(v) === "object") {
      for (var k in s.properties) { if (k in v && !matches(s.properties[k], v[k])) return false; }
    }
    if (s.allOf && !s.allOf.every(function (x) { return matches(x, v); })) return false;
    if (s.anyOf && !s.anyOf.some(function (x) { return matches(x, v); })) return false;
    if (s.not && matches(s.not, v)) return false;
    return true;
  }
  function update() {
    var a = answers();
    form.querySelectorAll("[data-visible-if]").forEach(function (el) {
      var shown = matches(JSON.parse(el.getAttribute("data-visible-if")), a);
      el.hidden = !shown;
      el.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = !shown; });
    });
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
