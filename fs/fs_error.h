/*
 * fs_error.h: the file API's error numbers. Negative returns, with Linux's
 * errno values so that a student recognises them (FS_EROFS is -30, as EROFS).
 */
#ifndef FS_FS_ERROR_H
#define FS_FS_ERROR_H

enum fs_error {
    FS_OK = 0,
    FS_ENOENT = -2,
    FS_EBADF = -9,
    FS_ENOMEM = -12,
    FS_ENOTDIR = -20,
    FS_EISDIR = -21,
    FS_EINVAL = -22,
    FS_EROFS = -30,
    FS_ENAMETOOLONG = -36,
    FS_ELOOP = -40,
    FS_ENOTSUP = -95,
};

/* "EROFS: read-only file system", "ENOENT: no such file or directory", ... */
const char *fs_error_text(int error);

#endif
