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

// Product pages with options: the chosen combination's price, stock, SKU and picture
// follow the buttons, and the form sends that variant (without JavaScript the server
// finds it from the options sent).
(() => {
  const data = document.getElementById("variant-data");
  const form = data && data.closest("form");
  if (!form) return;
  const variants = JSON.parse(data.textContent);
  const hidden = Object.assign(document.createElement("input"), { type: "hidden", name: "variant_id" });
  form.appendChild(hidden);
  const page = form.closest(".product-page");
  const chosen = () =>
    [...form.querySelectorAll("fieldset.option-picker")].map((set) => {
      const input = set.querySelector("input:checked");
      return input ? Number(input.dataset.index) : -1;
    });
  const update = () => {
    const choice = chosen();
    const variant = variants.find((v) => v.choices.every((c, i) => c === choice[i]));
    const inStock = !!variant && variant.stock > 0;
    hidden.value = variant ? variant.id : "";
    const price = page.querySelector("[data-price] .price-now");
    const was = page.querySelector("[data-price] .price-was");
    if (variant) {
      price.textContent = variant.price;
      was.textContent = variant.was || "";
      was.hidden = !variant.was;
    }
    const stock = page.querySelector("[data-stock]");
    stock.textContent = inStock ? stock.dataset.in : stock.dataset.out;
    const sku = page.querySelector("[data-sku]");
    if (sku && variant) sku.textContent = sku.textContent.replace(/\S+$/, variant.sku);
    form.querySelector("[data-add]").disabled = !inStock;
    const qty = form.querySelector("input[name=quantity]");
    qty.max = String(Math.max(1, Math.min(99, variant ? variant.stock : 1)));
    // Values that would make a sold-out or missing combination with the other choices.
    form.querySelectorAll("fieldset.option-picker").forEach((set, position) => {
      set.querySelectorAll("input").forEach((input) => {
        const trial = choice.slice();
        trial[position] = Number(input.dataset.index);
        const match = variants.find((v) => v.choices.every((c, i) => c === trial[i]));
        input.parentElement.classList.toggle("unavailable", !match || match.stock <= 0);
      });
    });
    if (variant && variant.image) showPicture(page, variant.image);
  };
  form.addEventListener("change", update);
  update();
})();

// A product's pictures: a thumbnail shows its picture in the main place.
function showPicture(page, key) {
  const source = page.querySelector(`#gallery-pictures`);
  const main = page.querySelector(".gallery-main");
  if (!source || !main) return;
  const picture = source.content.querySelector(`[data-key="${CSS.escape(key)}"] picture`);
  if (!picture) return;
  main.replaceChildren(picture.cloneNode(true));
  page.querySelectorAll(".gallery-thumb").forEach((thumb) => {
    thumb.classList.toggle("current", thumb.dataset.key === key);
  });
}

document.addEventListener("click", (event) => {
  const thumb = event.target.closest && event.target.closest(".gallery-thumb");
  if (!thumb) return;
  event.preventDefault();
  showPicture(thumb.closest(".product-page"), thumb.dataset.key);
});

// The home page editor: the preview follows the form as the owner types (without
// JavaScript the Preview button sends the same form to the same frame).
(() => {
  const form = document.querySelector("form[data-preview]");
  const button = form && form.querySelector("[data-preview-button]");
  if (!button || !form.requestSubmit) return;
  let timer = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => form.requestSubmit(button), 500);
  };
  form.addEventListener("input", (event) => {
    if (event.target.type !== "file") refresh();
  });
  form.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT" || event.target.type === "checkbox") refresh();
  });
})();
