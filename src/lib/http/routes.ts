/**
 * The Functions host refuses any function route that starts with the literal segment "admin", even
 * under the "api" prefix, because it reserves /admin for its own management API (the host reports
 * "The specified route conflicts with one or more built in routes"; azure-functions-host#1781).
 * CONTRACT.md puts operator routes at /api/admin/…, so they start with a route parameter whose
 * constraint only matches "admin": the same URLs, accepted by the host.
 */
export const ADMIN_SEGMENT = '{area:regex(^admin$)}';
