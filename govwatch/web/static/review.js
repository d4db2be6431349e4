// The change list's keyboard (j/k move, r mark reviewed, o/Enter open) and select-all boxes.
// Served from the UI itself: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  function boxes() { return document.querySelectorAll('#changes input[name=ids]'); }
  var all = document.getElementById('select-all');
  if (all) all.addEventListener('change', function () {
    boxes().forEach(function (b) { b.checked = all.checked; });
  });
  var page = document.getElementById('review-page');
  if (page) page.addEventListener('click', function () {
    boxes().forEach(function (b) { b.checked = true; });
  });
  var every = document.getElementById('review-all');
  if (every) every.addEventListener('click', function (e) {
    if (!window.confirm(every.getAttribute('data-confirm'))) e.preventDefault();
  });
  var rows = Array.prototype.slice.call(document.querySelectorAll('#changes tr.change'));
  var at = -1;
  function show(i) {
    if (!rows.length) return;
    if (at >= 0) rows[at].classList.remove('current');
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add('current');
    rows[at].scrollIntoView({block: 'nearest'});
  }
  document.addEventListener('keydown', function (e) {
    if (e.target.closest('input, select, textarea, button') || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'j') show(at + 1);
    else if (e.key === 'k') show(at - 1);
    else if (e.key === 'r' && at >= 0) {
      var button = rows[at].querySelector('button.review');
      if (button) button.click();
    } else if ((e.key === 'o' || e.key === 'Enter') && at >= 0) {
      rows[at].querySelector('td a').click();
    }
  });
})();
