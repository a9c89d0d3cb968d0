// DOM helpers. Every piece of data goes in as a text node or an attribute value: no innerHTML anywhere.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
  } else if (child instanceof Node) {
    el.appendChild(child);
  } else {
    el.appendChild(document.createTextNode(String(child)));
  }
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/** h('a', {href: '#/'}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Same for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** 2000000 -> "2.000.000 ₫" (VND has no minor unit; the amounts are whole dong). */
export function money(n) {
  return `${groupDigits(n)}\u00a0₫`;
}

export function groupDigits(n) {
  if (n === null || n === undefined || n === '') return '';
  if (typeof n === 'string' && n.startsWith('<')) return n;  // a small count shown as "< 5" (no child identifiable)
  const neg = Number(n) < 0;
  const digits = String(Math.abs(Math.trunc(Number(n))));
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return (neg ? '\u2212' : '') + grouped;
}

/** Compact axis label: 1.710.000.000 -> "1,71 tỷ" / "1.71 B". */
export function compactMoney(n, lang) {
  const abs = Math.abs(n);
  const units = lang === 'en'
    ? [[1e9, 'B'], [1e6, 'M'], [1e3, 'k']]
    : [[1e9, 'tỷ'], [1e6, 'tr'], [1e3, 'nghìn']];
  for (const [v, u] of units) {
    if (abs >= v) {
      let x = (n / v).toFixed(abs / v >= 100 ? 0 : abs / v >= 10 ? 1 : 2).replace(/\.?0+$/, '');
      if (lang !== 'en') x = x.replace('.', ',');
      return `${x} ${u}`;
    }
  }
  return String(n);
}

/** 953 permille -> "95,3 %" (vi) / "95.3%" (en). */
export function permille(p, lang) {
  const v = (p / 10).toFixed(1).replace(/\.0$/, '');
  return lang === 'en' ? `${v}%` : `${v.replace('.', ',')}\u00a0%`;
}

/** "2026-11-22T16:17:17.101452+00:00" -> "2026-11-22" */
export function dateOnly(iso) {
  return typeof iso === 'string' ? iso.slice(0, 10) : '';
}

/** A table: head is a list of {label, num?, nowrap?}; rows a list of lists of cells (string/Node). */
export function table({ caption, head, rows, className, foot }) {
  const cls = head.map((c) => (c.num ? 'num' : c.nowrap ? 'nowrap' : null));
  const cell = (tag, v, i, extra) => h(tag, { class: cls[i] || null, ...extra }, v);
  return h('div', { class: 'table-wrap' },
    h('table', { class: className || null },
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, head.map((c, i) => cell('th', c.label, i, { scope: 'col' })))),
      h('tbody', null, rows.map((r) => h('tr', r.attrs || null, (r.cells || r).map((v, i) => cell('td', v, i))))),
      foot ? h('tfoot', null, h('tr', null, foot.map((v, i) => cell(i === 0 ? 'th' : 'td', v, i, i === 0 ? { scope: 'row' } : {})))) : null));
}

/** A list of label/value pairs. */
export function facts(pairs, className) {
  return h('dl', { class: ['facts', className] },
    pairs.filter(Boolean).map(([k, v, attrs]) => h('div', attrs || null, h('dt', null, k), h('dd', null, v))));
}
