/** localhost, [::1] or an IPv4 address in 127.0.0.0/8 (a literal one: `127.evil.example` is not). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
