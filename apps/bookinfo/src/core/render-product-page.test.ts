import { describe, expect, it } from "vitest";
import { bookDetails, PRODUCTS } from "./books.ts";
import { buildReviews } from "./build-reviews.ts";
import { renderProductPage, type ProductPageModel } from "./render-product-page.ts";

const product = PRODUCTS[0] ?? { id: 0, title: "", descriptionHtml: "" };
const model: ProductPageModel = {
  product,
  details: { ok: true, body: bookDetails(0) },
  reviews: { ok: true, body: buildReviews(0, { version: "v3", ratings: { ok: true, ratings: { Reviewer1: 0, Reviewer2: 5 } }, podName: "reviews-v3-x" }) },
  user: undefined,
};

describe("renderProductPage", () => {
  it("draws each rating as full and empty stars, 0 stars as five empty", () => {
    const html = renderProductPage(model);
    expect(html.split("glyphicon glyphicon-star ").length - 1).toBe(5);
    expect(html.split("glyphicon glyphicon-star-empty").length - 1).toBe(5);
  });

  it("escapes what other services send", () => {
    const html = renderProductPage({
      ...model,
      reviews: { ok: true, body: { id: "0", podname: "<b>pod</b>", clustername: "null", reviews: [{ reviewer: "<script>", text: "a & b", rating: { stars: 3, color: "red\" onload=\"x" as "red" } }] } },
      user: "<img>",
    });
    expect(html).not.toContain('<div class="font-semibold text-gray-900"><script></div>');
    expect(html).toContain('<div class="font-semibold text-gray-900">&lt;script&gt;</div>');
    expect(html).toContain("&lt;script&gt;");
    expect(html).toContain("&lt;b&gt;pod&lt;/b&gt;");
    expect(html).toContain("a &amp; b");
    expect(html).toContain("&lt;img&gt;");
    expect(html).toContain('<font color="black">');
  });

  it("shows the apologies when details and reviews failed", () => {
    const html = renderProductPage({ ...model, details: { ok: false, status: 500, error: "Sorry, product details are currently unavailable for this book." }, reviews: { ok: false, status: 503, error: "Sorry, product reviews are currently unavailable for this book." } });
    expect(html).toContain('<p class="text-2xl text-red-500">Error fetching product details</p>');
    expect(html).toContain('<p class="text-2xl text-red-500">Error fetching product reviews</p>');
    expect(html).toContain("Sorry, product reviews are currently unavailable for this book.");
    expect(html).not.toContain("Book Reviews");
  });

  it("offers the sign-in form, posting username to login", () => {
    const html = renderProductPage(model);
    expect(html).toContain('<form class="space-y-6" method="post" action="login" name="login_form">');
    expect(html).toContain('name="username"');
    expect(html).toContain('id="sign-in-button"');
  });
});
