/* tests/html_check.js - injected by tests/html_test.sh into a TEST COPY of report.html (the
 * shipped report has no script): measures the laid-out page in headless Chromium and writes
 * one "PASS name" / "FAIL name: why" line per check into a pre element (id ablate-check) of
 * the top document (the page may sit in a srcdoc iframe that sets a phone-sized viewport).
 * window.ABLATE_EXPECT_FIGS: how many figures the report must hold. */
(function () {
  var out = [];
  function check(name, ok, why) {
    out.push((ok ? 'PASS ' : 'FAIL ') + name + (ok ? '' : ': ' + why));
  }
  function label(el) {
    var s = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
    var t = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 40);
    return s + ' "' + t + '"';
  }
  var W = document.documentElement.clientWidth;
  out.push('INFO viewport ' + W + ' x ' + document.documentElement.clientHeight + ' px');

  /* The page has content. */
  var text = document.body.innerText || '';
  check('page_has_text', text.length > 1000, 'only ' + text.length + ' characters of text');

  /* Every figure is there and laid out with a real size. */
  var figs = document.querySelectorAll('svg');
  var want = window.ABLATE_EXPECT_FIGS || 0;
  check('figure_count', figs.length === want, figs.length + ' <svg> elements, expected ' + want);
  var small = [];
  for (var i = 0; i < figs.length; i++) {
    var r = figs[i].getBoundingClientRect();
    if (!(r.width > 150 && r.height > 80))
      small.push('svg ' + i + ' is ' + r.width.toFixed(0) + 'x' + r.height.toFixed(0));
    if (!figs[i].closest('.scroll') && r.right > W + 1)
      small.push('svg ' + i + ' ends at x=' + r.right.toFixed(0) + ' past the page width ' + W);
  }
  check('figures_rendered', figs.length > 0 && small.length === 0, small.join('; '));

  /* Every text of every figure lies inside its figure's canvas. */
  var cut = [];
  for (var i = 0; i < figs.length; i++) {
    var box = figs[i].getBoundingClientRect();
    var texts = figs[i].querySelectorAll('text');
    for (var j = 0; j < texts.length; j++) {
      var t = texts[j].getBoundingClientRect();
      if (t.width === 0 && texts[j].textContent.trim() !== '')
        cut.push('svg ' + i + ' text "' + texts[j].textContent + '" has no size');
      if (t.left < box.left - 1 || t.right > box.right + 1 || t.top < box.top - 1 ||
          t.bottom > box.bottom + 1)
        cut.push('svg ' + i + ' text "' + texts[j].textContent + '" at [' + t.left.toFixed(0) +
                 ', ' + t.right.toFixed(0) + '] outside [' + box.left.toFixed(0) + ', ' +
                 box.right.toFixed(0) + ']');
    }
  }
  check('figure_text_inside_canvas', cut.length === 0, cut.slice(0, 5).join('; '));

  /* Nothing makes the page scroll sideways: wide tables scroll inside their own box. */
  var sw = document.documentElement.scrollWidth;
  check('no_horizontal_page_scroll', sw <= W + 1, 'page is ' + sw + ' px wide in a ' + W +
        ' px window');
  var tables = document.querySelectorAll('table'), loose = [];
  for (var i = 0; i < tables.length; i++)
    if (!tables[i].closest('.scroll'))
      loose.push('table ' + i);
  check('tables_in_scroll_boxes', loose.length === 0, loose.join(', '));

  /* No text runs out of its box: block elements and cells hold their content, and nothing
   * outside a scroll box reaches past the right edge of the window. */
  var els = document.body.querySelectorAll('h1,h2,p,li,dt,dd,pre,figcaption,th,td,code,a,span');
  var over = [];
  for (var i = 0; i < els.length; i++) {
    var el = els[i], cs = getComputedStyle(el);
    var inScroll = el.closest('.scroll') !== null;
    if (cs.display !== 'inline' && cs.overflowX === 'visible' &&
        el.scrollWidth > el.clientWidth + 1)
      over.push(label(el) + ' content ' + el.scrollWidth + ' > box ' + el.clientWidth);
    var r = el.getBoundingClientRect();
    if (!inScroll && r.width > 0 && r.right > W + 1)
      over.push(label(el) + ' ends at x=' + r.right.toFixed(0) + ' > ' + W);
  }
  check('no_text_overflow', over.length === 0, over.slice(0, 5).join('; '));

  var top = window.parent !== window ? window.parent.document : document;
  var pre = top.createElement('pre');
  pre.id = 'ablate-check';
  pre.textContent = '\n' + out.join('\n') + '\n';
  top.body.appendChild(pre);
})();
