// Svelte 5 compiles the TypeScript in components itself; nothing to preprocess.
export default {};
