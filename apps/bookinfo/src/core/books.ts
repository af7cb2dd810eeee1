// The bookinfo catalogue: the one book, its details, its two reviews and default ratings, with
// the same values Istio's sample serves (so pages and API answers compare equal).

export interface Product {
  readonly id: number;
  readonly title: string;
  /** Trusted HTML, rendered as is. */
  readonly descriptionHtml: string;
}

export interface BookDetails {
  readonly id: number;
  readonly author: string;
  readonly year: number;
  readonly type: string;
  readonly pages: number;
  readonly publisher: string;
  readonly language: string;
  readonly "ISBN-10": string;
  readonly "ISBN-13": string;
}

/** Stars (0-5) by reviewer name, as ratings serves them. */
export type Ratings = Readonly<Record<string, number>>;

export const PRODUCTS: readonly Product[] = [
  {
    id: 0,
    title: "The Comedy of Errors",
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

/** Details of product `id`; every id gets the same book, as in Istio's details service. */
export function bookDetails(id: number): BookDetails {
  return {
    id,
    author: "William Shakespeare",
    year: 1595,
    type: "paperback",
    pages: 200,
    publisher: "PublisherA",
    language: "English",
    "ISBN-10": "1234567890",
    "ISBN-13": "123-1234567890",
  };
}

export const REVIEWS: readonly { readonly reviewer: string; readonly text: string }[] = [
  { reviewer: "Reviewer1", text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!" },
  { reviewer: "Reviewer2", text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare." },
];

export const DEFAULT_RATINGS: Ratings = { Reviewer1: 5, Reviewer2: 4 };
