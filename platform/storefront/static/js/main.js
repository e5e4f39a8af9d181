// Progressive enhancement only: every page works without JavaScript.
document.documentElement.classList.add("js");

// Forms that ask before they submit: <form data-confirm="Are you sure?">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Phones: the header's links fold behind a Menu button (without JavaScript they show).
document.addEventListener("click", (event) => {
  const toggle = event.target.closest && event.target.closest(".nav-toggle");
  if (!toggle) return;
  const nav = document.getElementById(toggle.getAttribute("aria-controls"));
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  if (nav) nav.classList.toggle("open", open);
});
