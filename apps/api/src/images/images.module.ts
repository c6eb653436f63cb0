import { Module } from '@nestjs/common';
import { ImageAliasesService } from './image-aliases.service.js';
import { ImageImportService } from './image-import.service.js';
import { ImageStore } from './image-store.js';
import { ImagesPostService } from './images-post.service.js';
import { ImagesRepository } from './images.repository.js';
import { ImagesRoutes } from './images.routes.js';
import { ImagesService } from './images.service.js';

@Module({
  providers: [
    ImagesRepository,
    ImageStore,
    ImagesService,
    ImageImportService,
    ImagesPostService,
    ImageAliasesService,
    ImagesRoutes,
  ],
  exports: [ImagesService, ImageImportService, ImagesPostService, ImagesRoutes],
})
export class ImagesModule {}
