/* version.h: the kernel's name and version, shown at boot and by `version`. */
#ifndef KERNEL_VERSION_H
#define KERNEL_VERSION_H

#define FERRITE_NAME "Ferrite"
#define FERRITE_VERSION "0.1.0"
#define FERRITE_TAGLINE "a teaching kernel about memory"

#endif
