// Renders /productpage: the same structure and markers as Istio's productpage.html (title
// "Simple Bookstore App", the "Book Details" table, "Book Reviews" with stars, the sign-in form,
// "Error fetching product details/reviews"), so browser checks and Istio's task pages apply as is.
//
// Stars carry both generations of Istio's markers: the Tailwind template's `text-black-500` /
// `text-red-500` colour class and the Bootstrap template's `<font color="black">` with
// `glyphicon-star` / `glyphicon-star-empty` glyphs, so a check written against either finds them.
import type { BookDetails, Product } from "./books.ts";
import type { Review, ReviewsBody } from "./build-reviews.ts";
import { escapeHtml } from "./escape-html.ts";
import type { Fetched } from "./fetched.ts";

export interface ProductPageModel {
  readonly product: Product;
  readonly details: Fetched<BookDetails>;
  readonly reviews: Fetched<ReviewsBody>;
  /** The signed-in user, if any. */
  readonly user: string | undefined;
}

const FULL_STAR_PATH =
  "M10.868 2.884c-.321-.772-1.415-.772-1.736 0l-1.83 4.401-4.753.381c-.833.067-1.171 1.107-.536 1.651l3.62 3.102-1.106 4.637c-.194.813.691 1.456 1.405 1.02L10 15.591l4.069 2.485c.713.436 1.598-.207 1.404-1.02l-1.106-4.637 3.62-3.102c.635-.544.297-1.584-.536-1.65l-4.752-.382-1.831-4.401z";
const EMPTY_STAR_PATH =
  "M11.48 3.499a.562.562 0 0 1 1.04 0l2.125 5.111a.563.563 0 0 0 .475.345l5.518.442c.499.04.701.663.321.988l-4.204 3.602a.563.563 0 0 0-.182.557l1.285 5.385a.562.562 0 0 1-.84.61l-4.725-2.885a.562.562 0 0 0-.586 0L6.982 20.54a.562.562 0 0 1-.84-.61l1.285-5.386a.562.562 0 0 0-.182-.557l-4.204-3.602a.562.562 0 0 1 .321-.988l5.518-.442a.563.563 0 0 0 .475-.345L11.48 3.5Z";

/** A stand-in for Istio's Tailwind build: only the few rules the page needs to look right. */
const STYLE = `<style>
body{margin:0;font-family:system-ui,sans-serif;color:#111827}
.bg-gray-800{background:#1f2937}.text-white{color:#fff}.container{max-width:1024px;margin:0 auto;padding:0 1.5rem}
.nav{display:flex;height:4rem;align-items:center;justify-content:space-between}
.text-red-500{color:#ef4444}.text-black-500{color:#000}.text-gray-600{color:#4b5563}.text-blue-900{color:#1e3a8a}
.bg-blue-600\\/5{background:rgba(37,99,235,.05)}.flex{display:flex}.gap-x-1{gap:.25rem}.h-5{height:1.25rem}.w-5{width:1.25rem}
table{border-collapse:collapse}th,td{text-align:left;padding:.5rem 1rem .5rem 0}section{padding:2rem 1.5rem}
</style>`;

export function renderProductPage(model: ProductPageModel): string {
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simple Bookstore App</title>
${STYLE}
<script type="text/javascript">
  window.addEventListener("DOMContentLoaded", () => {
    const dialog = document.querySelector("dialog");
    const showButton = document.querySelector("#sign-in-button");
    const closeButton = document.querySelector("#close-dialog");
    if (showButton) showButton.addEventListener("click", () => dialog.showModal());
    if (closeButton) closeButton.addEventListener("click", () => dialog.close());
  });
</script>
</head>
<body>
${renderNav(model.user)}
${renderSignInDialog()}
<!-- Book description section -->
<div class="container mt-8 mx-auto px-4 sm:px-6 lg:px-8">
  <h1 class="text-5xl font-bold tracking-tight text-blue-900">${escapeHtml(model.product.title)}</h1>
  <div class="mt-6 max-w-4xl">
    <p class="mt-6 text-xl leading-8 text-gray-600">${model.product.descriptionHtml}</p>
    <div class="mt-6">
      <a href="https://istio.io" target="_blank" class="text-sm font-semibold leading-6 text-blue-600 hover:text-blue-700">Learn more about Istio <span aria-hidden="true">→</span></a>
    </div>
  </div>
</div>
<!-- Book details table -->
<div class="container mt-8 mx-auto px-4 sm:px-6 lg:px-8">
  <div class="mt-4 py-10">
    <div class="max-w-2xl">
      <div class="flow-root">
${renderDetails(model.details)}
      </div>
    </div>
  </div>
</div>
<!-- Book reviews section -->
<div class="bg-blue-600/5 py-12 mx-auto">
  <div class="container mx-auto px-4 sm:px-6 lg:px-8">
    <div class="max-w-2xl">
${renderReviews(model.reviews)}
    </div>
  </div>
</div>
</body>
</html>
`;
}

function renderNav(user: string | undefined): string {
  const right =
    user === undefined || user === ""
      ? `<button type="button" id="sign-in-button" class="rounded-md bg-blue-600 px-3.5 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-blue-500">Sign in</button>`
      : `<div class="flex items-center">
          <div class="ml-4">
            <p class="text-base font-medium text-gray-50" id="user">${escapeHtml(user)}</p>
            <a href="logout" class="text-xs font-medium text-gray-400 hover:text-gray-300">Sign out</a>
          </div>
        </div>`;
  return `<nav class="bg-gray-800">
  <div class="container mx-auto px-4 sm:px-6 lg:px-8">
    <div class="nav relative flex h-16 items-center justify-between">
      <a href="#" class="text-white px-3 py-2 text-lg font-medium" aria-current="page">BookInfo Sample</a>
      <div class="text-white flex items-center pr-2">
        ${right}
      </div>
    </div>
  </div>
</nav>`;
}

function renderSignInDialog(): string {
  return `<!-- Sign in dialog -->
<dialog id="dialog" class="w-full sm:w-2/3 lg:w-1/3 border rounded-md shadow-xl">
  <div class="flex min-h-full flex-col justify-center px-6 py-12 lg:px-8">
    <div class="absolute right-0 top-0 hidden pr-4 pt-4 sm:block">
      <button id="close-dialog" type="button" class="rounded-md bg-white text-gray-400 hover:text-gray-500"><span class="sr-only">Close</span>&times;</button>
    </div>
    <h2 class="mt-5 text-center text-2xl font-bold leading-9 tracking-tight text-gray-900">Sign in to BookInfo</h2>
    <div class="mt-10 sm:mx-auto sm:w-full sm:max-w-sm">
      <form class="space-y-6" method="post" action="login" name="login_form">
        <div>
          <label for="username" class="block text-sm font-medium leading-6 text-gray-900">Username</label>
          <div class="mt-2"><input id="username" name="username" required class="block w-full px-3 rounded-md border-0 py-1.5"></div>
        </div>
        <div>
          <label for="password" class="block text-sm font-medium leading-6 text-gray-900">Password</label>
          <div class="mt-2"><input id="password" name="passwd" type="password" class="block w-full px-3 rounded-md border-0 py-1.5"></div>
        </div>
        <div>
          <button type="submit" class="flex w-full justify-center rounded-md bg-blue-600 px-3 py-1.5 text-sm font-semibold leading-6 text-white">Sign in</button>
        </div>
      </form>
    </div>
  </div>
</dialog>`;
}

function renderDetails(details: Fetched<BookDetails>): string {
  if (!details.ok) {
    return `        <p class="text-2xl text-red-500">Error fetching product details</p>
        <p class="text-lg text-gray-600">${escapeHtml(details.error)}</p>`;
  }
  const d = details.body;
  return `        <h4 class="text-3xl font-semibold">Book Details</h4>
        <div class="-mx-4 -my-2 overflow-x-auto sm:-mx-6 lg:-mx-8">
          <div class="inline-block min-w-full py-2 align-middle sm:px-6 lg:px-8">
            <table class="min-w-full divide-y divide-gray-300">
              <thead>
                <tr>
                  <th scope="col">ISBN-10</th>
                  <th scope="col">Publisher</th>
                  <th scope="col">Pages</th>
                  <th scope="col">Type</th>
                  <th scope="col">Language</th>
                </tr>
              </thead>
              <tbody class="divide-y divide-gray-200 bg-white">
                <tr>
                  <td class="whitespace-nowrap py-2 pl-4 pr-3 text-sm text-gray-500 sm:pl-0">${cell(d["ISBN-10"])}</td>
                  <td class="whitespace-nowrap px-2 py-2 text-sm font-medium text-gray-900">${cell(d.publisher)}</td>
                  <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-900">${cell(d.pages)}</td>
                  <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-500">${cell(d.type)}</td>
                  <td class="whitespace-nowrap px-2 py-2 text-sm text-gray-500">${cell(d.language)}</td>
                </tr>
              </tbody>
            </table>
          </div>
        </div>`;
}

/** Details come from another service: show what it sent, whatever its type. */
function cell(value: unknown): string {
  return value === undefined || value === null ? "" : escapeHtml(String(value));
}

function renderReviews(reviews: Fetched<ReviewsBody>): string {
  if (!reviews.ok) {
    return `      <p class="text-2xl text-red-500">Error fetching product reviews</p>
      <p class="text-lg text-gray-600">${escapeHtml(reviews.error)}</p>`;
  }
  const body = reviews.body;
  const servedBy = `${escapeHtml(String(body.podname))}${body.clustername !== "null" ? ` on cluster <div>${escapeHtml(String(body.clustername))}</div>` : ""}`;
  const sections = (Array.isArray(body.reviews) ? body.reviews : []).map((review) => renderReview(review, servedBy)).join("\n");
  return `      <h4 class="text-3xl font-semibold">Book Reviews</h4>
      <div class="flex flex-col md:flex-row">
${sections}
      </div>`;
}

function renderReview(review: Review, servedBy: string): string {
  return `        <section class="px-6 py-12 sm:py-8 lg:px-8">
          <div class="mx-auto max-w-2xl">
${renderRating(review.rating)}
            <blockquote class="mt-10 text-xl font-semibold leading-8 tracking-tight text-gray-900 sm:text-2xl sm:leading-9">
              <p>"${escapeHtml(String(review.text))}"</p>
            </blockquote>
            <div class="mt-4 flex items-center gap-x-6">
              <div class="text-sm leading-6">
                <div class="font-semibold text-gray-900">${escapeHtml(String(review.reviewer))}</div>
                <div class="mt-0.5 text-gray-600 font-mono">Reviews served by: ${servedBy}</div>
              </div>
            </div>
          </div>
        </section>`;
}

function renderRating(rating: Review["rating"]): string {
  if (rating === undefined) return "";
  if ("error" in rating) return `            <p class="text-red-500"><i>${escapeHtml(String(rating.error))}</i></p>`;
  const stars = Math.min(5, Math.max(0, Math.trunc(Number(rating.stars) || 0)));
  // Only a known colour goes into the class and attribute: the value comes from another service.
  const color = rating.color === "red" ? "red" : "black";
  const full = `<svg class="glyphicon glyphicon-star h-5 w-5 flex-none" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true"><path fill-rule="evenodd" d="${FULL_STAR_PATH}" clip-rule="evenodd" /></svg>`;
  const empty = `<svg class="glyphicon glyphicon-star-empty h-5 w-5 flex-none" xmlns="http://www.w3.org/2000/svg" fill="none" viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" aria-hidden="true"><path stroke-linecap="round" stroke-linejoin="round" d="${EMPTY_STAR_PATH}" /></svg>`;
  return `            <div class="flex gap-x-1 text-${color}-500"><font color="${color}">
              ${full.repeat(stars)}${empty.repeat(5 - stars)}
            </font></div>`;
}
