# changeproof's container image: the static linux binary `make dist` builds,
# checked against dist/SHA256SUMS, on a distroless base, as a non-root user.
#
#   make dist
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/changeproof/changeproof:$(git describe --tags) .
#
# Nothing is compiled here: the image holds exactly the release binary.
FROM busybox:1.37.0 AS verify
ARG TARGETARCH
COPY dist/SHA256SUMS dist/changeproof-linux-${TARGETARCH} /dist/
RUN cd /dist && grep " changeproof-linux-${TARGETARCH}\$" SHA256SUMS | sha256sum -c - \
 && mv changeproof-linux-${TARGETARCH} changeproof && chmod 0555 changeproof

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=verify /dist/changeproof /usr/local/bin/changeproof
# uid 65532 ("nonroot"), as the Helm chart's securityContext expects.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/changeproof"]
CMD ["--help"]
