/** The bridge's version, reported by /api/health. A unit test keeps it equal to package.json's. */
export const VERSION = '0.1.0';
