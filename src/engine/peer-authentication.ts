import type { RuleModule } from './context.js';

// Placeholder until this kind's rules land: routes nothing.
export const peerAuthenticationModule: RuleModule = { handlers: {}, rules: [] };
