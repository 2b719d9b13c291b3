// Vite turns CSS imports into stylesheet files; TypeScript only needs to know they exist.
declare module '*.css';
