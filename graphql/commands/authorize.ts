import type { GraphqlContext } from '../context.ts';
import { badInput } from '../resolvers/input.ts';

/** Every mutation needs the bearer token the server was started with; a server without one takes none. */
export function authorize(context: GraphqlContext, mutation: string): void {
  if (!context.tokenConfigured)
    throw badInput('mutations are disabled: this server was started without a token (NASNET_TOKEN or --token-file)', 'FORBIDDEN');
  if (!context.authorized)
    throw badInput(
      `${mutation} needs the header "Authorization: Bearer <token>" with the token the server was started with`,
      'UNAUTHENTICATED',
    );
}
