import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The longest piece of the request a message may quote back, and the longest message. */
const MAX_QUOTED = 80;
const MAX_MESSAGE = 400;

/**
 * Every error a client gets has a short message and an `extensions.code`, and echoes nothing
 * it was sent: the parser's `originalError` (which held the whole malformed body) is dropped,
 * quoted names and values are cut to MAX_QUOTED characters, and errors that arrive without
 * a code (parser, limits, graphql-js's validation budget) get one.
 */
export function errorShape(): Plugin {
  return {
    onResultProcess({ result }) {
      if (Symbol.asyncIterator in Object(result)) return;
      for (const one of Array.isArray(result) ? result : [result]) {
        for (const error of (one as { errors?: readonly GraphQLError[] }).errors ?? []) shapeError(error);
      }
    },
    // A subscription's results are a stream: each one is shaped as it passes.
    onSubscribe: () => ({
      onSubscribeResult: () => ({
        onNext: ({ result }) => {
          for (const error of result.errors ?? []) shapeError(error as GraphQLError);
        },
      }),
    }),
  };
}

/** Gives one error the shape errorShape gives every error of a result (for results that do not pass through yoga's result processing). */
export function shapeError(error: GraphQLError): void {
  const extensions = error.extensions as Record<string, unknown>;
  const original = extensions.originalError;
  if (original !== undefined) {
    delete extensions.originalError;
    // Yoga answers 200 to spec errors when every error is a GraphQL one; an error with another
    // cause (a body that is not JSON) kept its own status, and keeps it once the cause is gone.
    const http = extensions.http as { status?: number } | undefined;
    if (!(original instanceof GraphQLError) && http?.status) extensions.http = { ...http, spec: false };
  }
  const { message, code } = described(error.message, extensions.code);
  // GraphQLError's message is a plain own property: rewriting it keeps locations and path.
  (error as { message: string }).message = shorten(message);
  extensions.code = code;
}

function described(message: string, code: unknown): { message: string; code: string } {
  if (message === 'Validation aborted.') {
    return {
      message:
        'validation stopped: checking that the fields of this query can be merged took more work than the server allows ' +
        '(e.g. one field repeated hundreds of times); send a smaller query',
      code: 'QUERY_TOO_COMPLEX',
    };
  }
  if (typeof code === 'string') return { message, code };
  const syntax = /^Syntax Error: (.*)$/s.exec(message);
  if (syntax && /\blimit\b|exceeded/i.test(syntax[1]!)) return { message: syntax[1]!, code: 'QUERY_TOO_COMPLEX' };
  if (syntax) return { message, code: 'GRAPHQL_PARSE_FAILED' };
  if (message === 'Unexpected error.') return { message, code: 'INTERNAL_SERVER_ERROR' };
  return { message, code: 'BAD_REQUEST' };
}

/** Cuts every quoted run longer than MAX_QUOTED, then the message itself. */
function shorten(message: string): string {
  const cut = message.replace(/"((?:[^"\\]|\\.){81,})"/g, (_, inner: string) => `"${inner.slice(0, MAX_QUOTED)}…"`);
  return cut.length > MAX_MESSAGE ? `${cut.slice(0, MAX_MESSAGE)}…` : cut;
}
