import { z } from 'zod';

/** What a 👀 goes on: the issue or PR itself, an issue comment, or a review comment. */
export const ReactionTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('issue'), number: z.number().int().positive() }),
  z.object({ kind: z.literal('issue_comment'), commentId: z.number().int().positive() }),
  z.object({ kind: z.literal('review_comment'), commentId: z.number().int().positive() }),
]);
export type ReactionTarget = z.infer<typeof ReactionTarget>;
