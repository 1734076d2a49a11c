/**
 * Must be the first import of the renderer entry: zod 4 decides at schema creation whether to compile
 * fast parsers with `new Function`, and its probe for that is reported as a CSP violation under our
 * policy (no 'unsafe-eval'). The interpreted path is plenty for a few small responses.
 */
import { z } from 'zod';

z.config({ jitless: true });
