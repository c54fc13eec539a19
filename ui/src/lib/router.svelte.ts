// The current screen, kept in location.hash (so Back works and a screen can be linked).
import { parseHash, routeHash, type Route } from './routes';

class Router {
  route = $state<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('hashchange', () => {
        this.route = parseHash(location.hash);
      });
    }
  }

  go(route: Route): void {
    const hash = routeHash(route);
    if (location.hash !== hash) location.hash = hash;
    this.route = route;
  }
}

export const router = new Router();
export const go = (route: Route) => router.go(route);
export const href = routeHash;
