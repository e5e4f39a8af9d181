// Progressive enhancement only: every page works without JavaScript.
document.documentElement.classList.add("js");

// Forms that ask before they submit: <form data-confirm="Are you sure?">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
