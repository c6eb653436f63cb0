// Errors raised before a route handler runs (body too large, malformed request) reach Nest's exception layer;
// this filter answers them with LXD's error envelope too.
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiError, toApiError } from './api-error.js';
import { sendError } from './router.js';

@Catch()
export class LxdErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const err =
      exception instanceof HttpException
        ? new ApiError(exception.getStatus(), exception.getStatus() === 404 ? 'not found' : exception.message)
        : toApiError(exception);
    sendError(reply, err);
  }
}
