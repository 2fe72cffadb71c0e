/**
 * A small sentence-similarity set written for qattn: 30 pairs graded 0 (unrelated) … 5 (same meaning), in the
 * spirit of STS-B. Its use is relative — does a mechanism rank the pairs like exact attention does — so it
 * needs a spread of grades more than size.
 */
export interface SimilarityPair { readonly a: string; readonly b: string; readonly grade: number }

export const SIMILARITY_PAIRS: readonly SimilarityPair[] = [
  { a: 'A man is playing a guitar.', b: 'A man plays the guitar.', grade: 5 },
  { a: 'The cat is sleeping on the sofa.', b: 'A cat sleeps on the couch.', grade: 5 },
  { a: 'How old are you?', b: 'What is your age?', grade: 5 },
  { a: 'The meeting was postponed until Friday.', b: 'The meeting has been moved to Friday.', grade: 4.6 },
  { a: 'She bought a new car yesterday.', b: 'Yesterday she purchased a new automobile.', grade: 4.8 },
  { a: 'The children are playing in the park.', b: 'Kids are playing outside in the park.', grade: 4.4 },
  { a: 'It is raining heavily today.', b: 'There is a lot of rain today.', grade: 4.5 },
  { a: 'The restaurant serves excellent pasta.', b: 'The pasta at this restaurant is great.', grade: 4.3 },
  { a: 'He is reading a book in the library.', b: 'A man reads in the library.', grade: 3.8 },
  { a: 'The stock market fell sharply this morning.', b: 'Shares dropped steeply at the opening.', grade: 4 },
  { a: 'A woman is slicing an onion.', b: 'A woman is cutting vegetables.', grade: 3.4 },
  { a: 'The train was late again.', b: 'The bus arrived late.', grade: 2.6 },
  { a: 'I love drinking coffee in the morning.', b: 'I enjoy tea in the afternoon.', grade: 2.4 },
  { a: 'The dog is chasing a ball.', b: 'A dog runs across the yard.', grade: 2.8 },
  { a: 'He plays football every weekend.', b: 'He watches football on television.', grade: 2.5 },
  { a: 'The computer crashed during the update.', b: 'The software update was successful.', grade: 1.8 },
  { a: 'She is learning to speak French.', b: 'She teaches French at a school.', grade: 2.2 },
  { a: 'The sun rises in the east.', b: 'The moon is visible tonight.', grade: 1.4 },
  { a: 'A boy is riding a bicycle.', b: 'A girl is riding a horse.', grade: 1.8 },
  { a: 'The price of bread has gone up.', b: 'Food is getting more expensive.', grade: 3.2 },
  { a: 'My phone battery is dead.', b: 'I need to charge my phone.', grade: 3.4 },
  { a: 'The museum opens at nine.', b: 'The bakery sells fresh croissants.', grade: 0.2 },
  { a: 'A man is playing a guitar.', b: 'The government passed a new tax law.', grade: 0 },
  { a: 'How old are you?', b: 'The river flows into the sea.', grade: 0 },
  { a: 'The cat is sleeping on the sofa.', b: 'Interest rates were raised by the central bank.', grade: 0 },
  { a: 'She bought a new car yesterday.', b: 'Penguins live in the southern hemisphere.', grade: 0 },
  { a: 'It is raining heavily today.', b: 'He scored two goals in the final.', grade: 0.2 },
  { a: 'The children are playing in the park.', b: 'The database query returned no rows.', grade: 0 },
  { a: 'The restaurant serves excellent pasta.', b: 'Mountains are covered in snow in winter.', grade: 0.2 },
  { a: 'I love drinking coffee in the morning.', b: 'The spacecraft landed on Mars.', grade: 0 },
];
