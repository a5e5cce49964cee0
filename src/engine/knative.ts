import type { RuleModule } from './context.js';

// Placeholder until this kind's rules land: routes nothing.
export const knativeModule: RuleModule = { handlers: {}, rules: [] };
