import type { RuleModule } from './context.js';

// Placeholder until this kind's rules land: routes nothing.
export const destinationRuleModule: RuleModule = { handlers: {}, rules: [] };
