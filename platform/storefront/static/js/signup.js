// The sign-up form: says, as the owner types, whether the shop's address is free (the
// server checks again when the form is sent; without this script the form works alike).
(function () {
  "use strict";
  var form = document.getElementById("signup-form");
  if (!form) { return; }
  var slug = document.getElementById("slug");
  var name = document.getElementById("shop_name");
  var status = document.getElementById("slug-status");
  var url = form.getAttribute("data-check");
  var timer = null;
  var edited = slug.value !== "";
  var asked = 0;

  function suggest(text) {
    return text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "-").replace(/^[^a-z]+/, "").replace(/-+$/, "").slice(0, 63);
  }

  function check() {
    var value = slug.value.trim();
    if (!value) { status.textContent = ""; status.className = ""; return; }
    var mine = ++asked;
    fetch(url + "?slug=" + encodeURIComponent(value), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }  // an older answer, overtaken by typing
        status.textContent = data.message;
        status.className = data.available ? "is-free" : "is-not-free";
      })
      .catch(function () { status.textContent = ""; });
  }

  function later() { clearTimeout(timer); timer = setTimeout(check, 250); }

  slug.addEventListener("input", function () { edited = true; later(); });
  name.addEventListener("input", function () {
    if (!edited) { slug.value = suggest(name.value); later(); }
  });
  if (slug.value) { check(); }
})();
