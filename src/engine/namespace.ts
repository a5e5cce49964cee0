import type { RuleModule } from './context.js';

// Placeholder until this kind's rules land: routes nothing.
export const namespaceModule: RuleModule = { handlers: {}, rules: [] };
