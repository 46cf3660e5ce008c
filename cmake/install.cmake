# install.cmake — what `make install` / `cmake --install` puts where.
#
# Under the prefix (PREFIX, default /usr/local): bin/lockstep,
# share/man/man1/lockstep.1, share/bash-completion/completions/lockstep,
# lib/systemd/system/lockstep.service, lib/sysusers.d/lockstep.conf,
# share/doc/lockstep/lockstep.ini.example.
# Outside it (LOCKSTEP_SYSCONFDIR, default /etc, because that is where
# lockstep itself and logrotate look): lockstep/lockstep.ini (0640, never
# overwritten) and logrotate.d/lockstep. DESTDIR stages everything.
include(GNUInstallDirs)

set(LOCKSTEP_SYSCONFDIR "/etc" CACHE PATH
    "Directory for lockstep/lockstep.ini and logrotate.d/lockstep")
# Relative directories are under the prefix (also a `cmake --install --prefix`).
set(LOCKSTEP_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Directory for lockstep.service (relative: under the prefix)")
set(LOCKSTEP_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
    "Directory for the sysusers.d file that declares the lockstep user")
set(LOCKSTEP_CONFIG_FILE "${LOCKSTEP_SYSCONFDIR}/lockstep/lockstep.ini")

install(TARGETS lockstep RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/contrib/man/lockstep.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/bash-completion/lockstep
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# The unit names the installed binary, so it is written at install time,
# when the prefix is known for sure.
install(CODE "
  set(LOCKSTEP_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  if(NOT IS_ABSOLUTE \"\${LOCKSTEP_BINDIR}\")
    set(LOCKSTEP_BINDIR \"\${CMAKE_INSTALL_PREFIX}/\${LOCKSTEP_BINDIR}\")
  endif()
  set(LOCKSTEP_CONFIG_FILE \"${LOCKSTEP_CONFIG_FILE}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/contrib/systemd/lockstep.service.in\"
                 \"${CMAKE_BINARY_DIR}/contrib/lockstep.service\" @ONLY)
  set(_unitdir \"${LOCKSTEP_SYSTEMD_UNITDIR}\")
  if(NOT IS_ABSOLUTE \"\${_unitdir}\")
    set(_unitdir \"\${CMAKE_INSTALL_PREFIX}/\${_unitdir}\")
  endif()
  file(INSTALL DESTINATION \"\${_unitdir}\" TYPE FILE
       FILES \"${CMAKE_BINARY_DIR}/contrib/lockstep.service\")
")
install(FILES ${CMAKE_SOURCE_DIR}/contrib/sysusers/lockstep.conf
        DESTINATION ${LOCKSTEP_SYSUSERSDIR})
install(FILES ${CMAKE_SOURCE_DIR}/contrib/logrotate/lockstep
        DESTINATION ${LOCKSTEP_SYSCONFDIR}/logrotate.d)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/lockstep.ini
        DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME lockstep.ini.example)

# The config file: 0640, and an operator's edited copy is never replaced by
# a reinstall (the shipped example stays next to the docs for comparison).
# Installed for real (no DESTDIR) by root, the lockstep user is created from
# the sysusers.d file and given read access, so the unit starts right away.
install(CODE "
  set(_ini \"\$ENV{DESTDIR}${LOCKSTEP_CONFIG_FILE}\")
  if(EXISTS \"\${_ini}\")
    message(STATUS \"Kept: \${_ini} (the shipped example: \${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}/lockstep.ini.example)\")
  else()
    file(INSTALL DESTINATION \"${LOCKSTEP_SYSCONFDIR}/lockstep\" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
         FILES \"${CMAKE_SOURCE_DIR}/contrib/lockstep.ini\")
  endif()
  set(_sysusers_file \"${LOCKSTEP_SYSUSERSDIR}/lockstep.conf\")
  if(NOT IS_ABSOLUTE \"\${_sysusers_file}\")
    set(_sysusers_file \"\${CMAKE_INSTALL_PREFIX}/\${_sysusers_file}\")
  endif()
  if(\"\$ENV{DESTDIR}\" STREQUAL \"\")
    execute_process(COMMAND id -u OUTPUT_VARIABLE _uid OUTPUT_STRIP_TRAILING_WHITESPACE)
    find_program(_sysusers systemd-sysusers)
    if(_uid STREQUAL \"0\" AND _sysusers)
      execute_process(COMMAND \${_sysusers} \"\${_sysusers_file}\")
      execute_process(COMMAND chgrp lockstep \"${LOCKSTEP_CONFIG_FILE}\")
    else()
      message(STATUS \"Create the lockstep user (systemd-sysusers \${_sysusers_file}) and run: chgrp lockstep ${LOCKSTEP_CONFIG_FILE}\")
    endif()
  endif()
")
